using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;

namespace AgentStack.Sdk.Replaying;

/// <summary>
/// One model call or tool call of a recorded run, as stored: the span's payloads exactly as the server returns them.
/// <see cref="Number"/> counts from 1 in the order the calls started.
/// </summary>
/// <param name="Number">The step's number, from 1.</param>
/// <param name="Kind"><c>llm</c> for a model call, <c>tool</c> for a tool call.</param>
/// <param name="SpanId">The recorded span.</param>
/// <param name="Name">The span's name (<c>execute_tool get_pricing</c>, <c>chat model</c>, ...).</param>
/// <param name="ToolName">The tool's name, for a tool call.</param>
/// <param name="Input">The recorded input: the messages sent to the model, or the tool's arguments.</param>
/// <param name="Output">The recorded output: the model's answer, or the tool's result.</param>
/// <param name="Status"><c>ok</c> or <c>error</c>.</param>
/// <param name="StatusMessage">Why the call failed, when it did.</param>
/// <param name="Model">The model that answered.</param>
/// <param name="InputTokens">Prompt tokens.</param>
/// <param name="OutputTokens">Completion tokens.</param>
public sealed record RecordedStep(
    int Number, string Kind, string SpanId, string Name, string? ToolName, JsonNode? Input, JsonNode? Output,
    string Status, string? StatusMessage, string? Model, long? InputTokens, long? OutputTokens);

/// <summary>
/// A recorded trace read back from AgentStack (<c>GET /api/projects/{project}/traces/{traceId}</c>): its model and
/// tool calls in the order they started, the steps an <see cref="AgentStackReplay"/> answers from (issue 16).
/// </summary>
public sealed class RecordedRun
{
    private RecordedRun(string traceId, JsonObject? root, IReadOnlyList<RecordedStep> steps)
    {
        TraceId = traceId;
        RootSpanId = root is null ? null : Text(root, "spanId");
        RootAttributes = root?["attributes"]?.DeepClone() as JsonObject;
        Steps = steps;
    }

    /// <summary>The recorded trace.</summary>
    public string TraceId { get; }

    /// <summary>The recorded trace's root span, the target of a re-run's link.</summary>
    public string? RootSpanId { get; }

    /// <summary>The recorded root span's attributes (e.g. to start the re-run with the same settings).</summary>
    public JsonObject? RootAttributes { get; }

    /// <summary>The model and tool calls, in the order they started.</summary>
    public IReadOnlyList<RecordedStep> Steps { get; }

    /// <summary>Reads the steps from a trace detail document (the body of <c>GET .../traces/{traceId}</c>).</summary>
    /// <param name="trace">The document: <c>{"traceId", "spans":[...]}</c>.</param>
    /// <returns>The recorded run.</returns>
    public static RecordedRun FromTrace(JsonNode trace)
    {
        ArgumentNullException.ThrowIfNull(trace);
        var traceId = trace["traceId"]?.GetValue<string>() ?? throw new ArgumentException("the document has no traceId", nameof(trace));
        var spans = trace["spans"]?.AsArray().OfType<JsonObject>().ToList() ?? [];
        var root = spans.FirstOrDefault(s => s["parentSpanId"] is null);
        var steps = spans
            .Where(s => Text(s, "kind") is "llm" or "tool")
            .OrderBy(s => DateTimeOffset.Parse(Text(s, "startTime") ?? "", CultureInfo.InvariantCulture))
            .ThenBy(s => Text(s, "spanId"), StringComparer.Ordinal)
            .Select((s, i) => new RecordedStep(i + 1, Text(s, "kind")!, Text(s, "spanId") ?? "", Text(s, "name") ?? "",
                Text(s, "kind") == "tool" ? ToolNameOf(s) : null,
                s["input"]?.DeepClone(), s["output"]?.DeepClone(), Text(s, "status") ?? "ok", Text(s, "statusMessage"),
                Text(s, "model"), s["inputTokens"]?.GetValue<long>(), s["outputTokens"]?.GetValue<long>()))
            .ToList();
        return new RecordedRun(traceId, root, steps);
    }

    /// <summary>Fetches a recorded trace through the read API.</summary>
    /// <param name="http">A client whose base address is the AgentStack server and which sends a key with the read scope.</param>
    /// <param name="project">The project.</param>
    /// <param name="traceId">The recorded trace.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The recorded run.</returns>
    public static async Task<RecordedRun> LoadAsync(HttpClient http, string project, string traceId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(http);
        var uri = new Uri($"api/projects/{Uri.EscapeDataString(project)}/traces/{Uri.EscapeDataString(traceId)}", UriKind.Relative);
        using var response = await http.GetAsync(uri, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
            throw new HttpRequestException($"GET {uri} answered {(int)response.StatusCode}: {body}", null, response.StatusCode);
        return FromTrace(JsonNode.Parse(body) ?? throw new InvalidOperationException($"GET {uri} answered an empty body"));
    }

    /// <summary>Fetches a recorded trace from <paramref name="endpoint"/> with a read key.</summary>
    /// <param name="endpoint">The AgentStack server.</param>
    /// <param name="readKey">A key with the read scope of <paramref name="project"/>.</param>
    /// <param name="traceId">The recorded trace.</param>
    /// <param name="project">The project (default <c>default</c>).</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The recorded run.</returns>
    public static async Task<RecordedRun> LoadAsync(Uri endpoint, string readKey, string traceId, string project = "default",
        CancellationToken cancellationToken = default)
    {
        using var http = new HttpClient { BaseAddress = endpoint };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", readKey);
        return await LoadAsync(http, project, traceId, cancellationToken).ConfigureAwait(false);
    }

    private static string? Text(JsonObject span, string field) => span[field] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    /// <summary>GenAI's <c>gen_ai.tool.name</c>, else the span name after <c>execute_tool </c>.</summary>
    private static string ToolNameOf(JsonObject span)
    {
        if (span["attributes"]?["gen_ai.tool.name"] is JsonValue v && v.TryGetValue<string>(out var name))
            return name;
        var spanName = Text(span, "name") ?? "";
        return spanName.StartsWith("execute_tool ", StringComparison.Ordinal) ? spanName["execute_tool ".Length..] : spanName;
    }
}
