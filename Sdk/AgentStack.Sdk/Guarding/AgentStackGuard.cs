using System.Net.Http.Json;
using System.Text.Json.Serialization;

namespace AgentStack.Sdk.Guarding;

/// <summary>Where a screened text came from: the values <c>POST /v1/guard</c> takes for <c>role</c>.</summary>
public static class GuardRoles
{
    /// <summary>Text a user typed.</summary>
    public const string UserInput = "user_input";

    /// <summary>A document retrieved for the model (RAG, a web page).</summary>
    public const string RetrievedDocument = "retrieved_document";

    /// <summary>The result of a tool or function call.</summary>
    public const string ToolOutput = "tool_output";
}

/// <summary>One reason the guard gave.</summary>
/// <param name="Kind"><c>prompt_injection</c>, or a personal-data or secret kind (<c>email</c>, <c>api_key</c>, …).</param>
/// <param name="Score">0 to 1; a prompt injection at 0.5 or more blocks.</param>
/// <param name="Reason">The reason in words.</param>
/// <param name="Start">Where in the text, in UTF-16 characters.</param>
/// <param name="Length">How many characters.</param>
public sealed record GuardFinding(string Kind, double Score, string Reason, int Start, int Length);

/// <summary>The guard's answer.</summary>
/// <param name="Action"><c>allow</c> or <c>block</c>.</param>
/// <param name="Findings">Every finding, blocking or not.</param>
public sealed record GuardResult(string Action, IReadOnlyList<GuardFinding> Findings)
{
    /// <summary>True when the text must not reach the model.</summary>
    [JsonIgnore]
    public bool Blocked => Action == "block";
}

/// <summary>The guard blocked a text (thrown by the Extensions.AI and Semantic Kernel integrations).</summary>
public sealed class PromptInjectionBlockedException : Exception
{
    /// <summary>Creates the exception for <paramref name="result"/>.</summary>
    /// <param name="role">The role of the blocked text.</param>
    /// <param name="result">The guard's answer.</param>
    public PromptInjectionBlockedException(string role, GuardResult result)
        : base($"AgentStack guard blocked a {role}: {result.Findings.Where(f => f.Kind == "prompt_injection").MaxBy(f => f.Score)?.Reason}")
    {
        Role = role;
        Result = result;
    }

    /// <summary>The role of the blocked text.</summary>
    public string Role { get; }

    /// <summary>The guard's answer.</summary>
    public GuardResult Result { get; }
}

/// <summary>
/// Screens text with the server's guard (<c>POST /v1/guard</c>) before a model sees it: user input,
/// retrieved documents and tool outputs. Needs a key with the ingest scope. A block is recorded by the
/// server and counted on the dashboard.
/// </summary>
/// <example>
/// <code>
/// using var guard = new AgentStackGuard(new AgentStackOptions { ApiKey = key });
/// var result = await guard.CheckAsync(userText, GuardRoles.UserInput);
/// if (result.Blocked) return "Sorry, I can't help with that.";
/// </code>
/// </example>
public sealed class AgentStackGuard : IDisposable
{
    private readonly HttpClient http;

    /// <summary>Creates a guard client for the server and key of <paramref name="options"/>.</summary>
    /// <param name="options">Endpoint, API key and, optionally, the HTTP handler.</param>
    public AgentStackGuard(AgentStackOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        http = options.HttpMessageHandler is { } handler ? new HttpClient(handler, disposeHandler: false) : new HttpClient();
        http.BaseAddress = options.Endpoint;
        http.Timeout = options.ExportTimeout;
        if (options.ApiKey is { Length: > 0 } key)
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
    }

    /// <summary>Screens <paramref name="text"/>.</summary>
    /// <param name="text">The text a model is about to see.</param>
    /// <param name="role">One of <see cref="GuardRoles"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The verdict and its findings.</returns>
    public async Task<GuardResult> CheckAsync(string text, string role = GuardRoles.UserInput, CancellationToken cancellationToken = default)
    {
        using var response = await http.PostAsJsonAsync(new Uri("v1/guard", UriKind.Relative), new GuardRequest(text, role),
            GuardJsonContext.Default.GuardRequest, cancellationToken).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync(GuardJsonContext.Default.GuardResult, cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>Screens <paramref name="text"/> and throws <see cref="PromptInjectionBlockedException"/> on a block.</summary>
    /// <param name="text">The text a model is about to see.</param>
    /// <param name="role">One of <see cref="GuardRoles"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The verdict when it allows the text.</returns>
    public async Task<GuardResult> EnsureAllowedAsync(string text, string role, CancellationToken cancellationToken = default)
    {
        var result = await CheckAsync(text, role, cancellationToken).ConfigureAwait(false);
        return result.Blocked ? throw new PromptInjectionBlockedException(role, result) : result;
    }

    /// <inheritdoc />
    public void Dispose() => http.Dispose();
}

internal sealed record GuardRequest(string Text, string Role);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(GuardRequest))]
[JsonSerializable(typeof(GuardResult))]
internal sealed partial class GuardJsonContext : JsonSerializerContext;
