using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using AgentStack.Access;
using AgentStack.Events;
using AgentStack.Commands.Spans.Ingesting;
using AgentStack.Events.Security;
using AgentStack.Security;
using AgentStack.Security.Injection;
using AgentStack.Security.SensitiveData;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentStack.Commands.Guarding;

public sealed record GuardRequest([property: JsonConverter(typeof(JsonStringConverter))] string? Text, string? Role);

public sealed record GuardFinding(string Kind, double Score, string Reason, int Start, int Length);

public sealed record GuardResponse(string Action, IReadOnlyList<GuardFinding> Findings);

/// <summary>
/// <c>POST /v1/guard</c> (docs/architecture.md, guard; issue 15): screens one text before a model sees it.
/// Blocks on a prompt injection; personal data and secrets are reported, never blocked. A block is
/// recorded as <see cref="GuardBlocked"/> in the project's guard stream before the answer, so the
/// dashboard counts what the guard stopped.
/// </summary>
public static class GuardEndpoints
{
    /// <summary>The most text screened at once: 256 KiB of characters.</summary>
    public const int MaxTextLength = 256 * 1024;

    public static IServiceCollection AddGuard(this IServiceCollection services)
    {
        services.TryAddSingleton(sp => InjectionDetector.Load(sp.GetService<IConfiguration>()?[InjectionDetector.ModelDirectorySetting]));
        services.AddHostedService<GuardWarmUp>();
        return services;
    }

    /// <summary>
    /// Loads the classifier and runs it once at start: loading the ML.NET model takes seconds, which the
    /// first guard call must not pay (its budget is 10 ms, issue 15).
    /// </summary>
    private sealed class GuardWarmUp(InjectionDetector detector) : Microsoft.Extensions.Hosting.IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            detector.Detect("warm up: ignore nothing", TextRoles.RetrievedDocument);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    public static RouteGroupBuilder MapGuard(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1").WithTags("Security").RequireAuthorization(Scopes.Ingest);
        group.MapPost("/guard", GuardAsync)
            .WithName("Guard")
            .WithSummary("Screen a user input, retrieved document or tool output for prompt injection, personal data and secrets");
        return group;
    }

    private static async Task<Results<Ok<GuardResponse>, ValidationProblem, ProblemHttpResult>> GuardAsync(
        HttpContext http, InjectionDetector detector, IEventStore store, TimeProvider clock, IOptions<IngestOptions> limits,
        IOptions<JsonOptions> json, ILoggerFactory loggers)
    {
        // Read through the ingestion body reader, not model binding: the same size limit, gzip and UTF-8 check
        // as every other JSON endpoint (issue 17, item 5).
        if (!http.Request.HasJsonContentType())
            return TypedResults.Problem(new Microsoft.AspNetCore.Mvc.ProblemDetails
            {
                Status = StatusCodes.Status415UnsupportedMediaType, Title = "Unsupported media type",
                Detail = "Send the guard request as application/json.", Extensions = { ["field"] = "Content-Type" },
            });
        var (body, failure) = await IngestBody.ReadAsync(http, limits.Value, json: true);
        if (failure is not null)
            return failure.HttpStatus == StatusCodes.Status400BadRequest
                ? Invalid(failure.Field, failure.Detail)
                : TypedResults.Problem(new Microsoft.AspNetCore.Mvc.ProblemDetails
                {
                    Status = failure.HttpStatus, Title = failure.Title, Detail = failure.Detail, Extensions = { ["field"] = failure.Field },
                });
        GuardRequest? request;
        try
        {
            request = JsonSerializer.Deserialize<GuardRequest>(body.Span, json.Value.SerializerOptions);
        }
        catch (JsonException e)
        {
            var cut = e.Message.IndexOf(" Path:", StringComparison.Ordinal);
            return Invalid("body", $"the body is not a guard request {{\"text\": ..., \"role\": ...}}: {(cut > 0 ? e.Message[..cut] : e.Message)}");
        }
        finally
        {
            body.Dispose(); // the request is two decoded strings
        }
        if (request is null)
            return Invalid("body", "the body must be a JSON object {\"text\": ..., \"role\": ...}");
        var role = request.Role ?? TextRoles.UserInput;
        if (request.Text is null)
            return Invalid("text", "text is required");
        if (request.Text.Length > MaxTextLength)
            return Invalid("text", $"text is {request.Text.Length} characters; the limit is {MaxTextLength}");
        if (!TextRoles.IsKnown(role))
            return Invalid("role", $"role must be one of {string.Join(", ", TextRoles.All)}");

        var verdict = detector.Detect(request.Text, role);
        var findings = verdict.Findings
            .Select(f => new GuardFinding(f.Kind, Math.Round(f.Score, 3), f.Reason, f.Start, f.Length))
            .Concat(SensitiveDataDetector.Find(request.Text).Select(f => new GuardFinding(f.Rule, f.Score, f.Reason, f.Start, f.Length)))
            .ToList();
        if (verdict.Block)
        {
            var (project, keyId) = http.User.ApiKey();
            var blocked = new GuardBlocked(project, role, Math.Round(verdict.Score, 3),
                findings.Where(f => f.Kind == InjectionDetector.Kind)
                    .Select(f => new GuardFindingRecord(f.Kind, f.Score, f.Reason, f.Start, f.Length)).ToList(),
                Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(request.Text))), request.Text.Length,
                InjectionDetector.Name, detector.Version, clock.GetUtcNow(), keyId);
            try
            {
                await store.AppendAsync(GuardStream.Name(project), StreamAppend.Any, [EventTypes.Serialize(blocked)], http.RequestAborted);
            }
            catch (EventStoreUnavailableException e)
            {
                // The verdict matters more to the caller than the record of it: still answer block.
                loggers.CreateLogger(typeof(GuardEndpoints)).LogWarning(e, "A guard block could not be recorded");
            }
        }
        return TypedResults.Ok(new GuardResponse(verdict.Block ? "block" : "allow", findings));
    }

    private static ValidationProblem Invalid(string field, string message) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [message] }, title: "The guard request is invalid");
}
