using AgentStack.Access;
using AgentStack.Erasure.Keys;
using AgentStack.Events;
using AgentStack.Projections.Analytics;
using AgentStack.Projections.Running;
using AgentStack.Projections.Spans;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentStack.Queries.Erasure;

/// <summary>The answer of an erasure: the contract's <c>subject</c> and <c>erasedAt</c>, plus how many keys were destroyed and analytics spans overwritten.</summary>
public sealed record SubjectErasure(string Subject, DateTimeOffset ErasedAt, int KeysDestroyed, int AnalyticsSpansErased);

/// <summary>
/// <c>POST /api/projects/{project}/subjects/{subject}/erase</c> (admin scope of the project or the operator's, also
/// for an archived project; issue 14, docs/privacy.md):
/// destroys the subject's payload keys, records <c>subject.erased.v1</c> in stream <c>subjects-{project}</c>,
/// then overwrites the ClickHouse copies of the subject's payloads. The ClickHouse step waits until the
/// analytics projection has applied the erasure event: every span event before it was read while its key
/// existed and may have been written with plaintext, so it must be in the table before the overwrite; every
/// event read after the keys were destroyed is written erased already.
/// </summary>
public static partial class ErasingSubjects
{
    public const int MaxSubjectLength = 256;
    private static readonly TimeSpan ProjectionWait = TimeSpan.FromSeconds(30);

    public static IEndpointRouteBuilder MapErasure(this IEndpointRouteBuilder app)
    {
        app.MapGroup("/api/projects/{project}").WithTags("Erasure").RequireAuthorization(Scopes.Admin)
            .MapPost("/subjects/{subject}/erase", EraseAsync).WithName("EraseSubject")
            .WithSummary("Erase a subject's payloads (input, output, attributes) by destroying their keys; needs an admin key of the project or the operator's");
        return app;
    }

    private static async Task<Results<Ok<SubjectErasure>, ValidationProblem, NotFound, ProblemHttpResult>> EraseAsync(
        string project, string subject, HttpContext http, IAccessStore access, SubjectKeyring keyring, IEventStore store,
        ProjectionProgress progress, IAnalyticsStore analytics, IOptions<AnalyticsOptions> analyticsOptions,
        TimeProvider clock, ILoggerFactory logger, CancellationToken ct)
    {
        if (!http.User.CanAdminister(project) || await access.GetProjectAsync(project, ct) is null)
            return TypedResults.NotFound();
        if (subject.Length is 0 or > MaxSubjectLength)
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["subject"] = [$"subject must be 1 to {MaxSubjectLength} characters"],
            });

        var destroyed = keyring.Erase(project, subject);
        var erasedAt = clock.GetUtcNow();
        var erased = new SubjectErased(project, keyring.SubjectHash(project, subject), destroyed, "request", erasedAt, http.User.ApiKey().KeyId);
        var appended = await store.AppendAsync(SubjectStream.Name(project), StreamAppend.Any, [EventTypes.Serialize(erased)], ct);

        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            timeout.CancelAfter(ProjectionWait);
            try
            {
                await progress.WaitForAsync(SpansProjection.ProjectionName, appended.LastPosition, timeout.Token);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                http.Response.Headers.RetryAfter = "30";
                return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Analytics projection behind",
                    detail: "The keys are destroyed and the log records the erasure; the analytics copies are overwritten once the projection " +
                        "catches up. Send the request again to finish (erasing twice is harmless).");
            }
        }
        var cluster = analyticsOptions.Value.Cluster;
        var spans = await ErasedAnalyticsRows.OverwriteAsync(analytics, SpansTables.Current, cluster, project, subject, ct);
        if (spans > 0 && cluster is not { Length: > 0 })
        {
            var pending = await ErasedAnalyticsRows.WaitForReplacedPartsAsync(analytics, TimeSpan.FromSeconds(ErasedAnalyticsRows.OldPartsLifetimeSeconds * 3), ct);
            if (pending.Count > 0)
                LogPartsPending(logger.CreateLogger(typeof(ErasingSubjects)), string.Join("; ", pending));
        }
        return TypedResults.Ok(new SubjectErasure(subject, erasedAt, destroyed.Count, spans));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Parts replaced by an erasure are still on disk (name, ClickHouse's reason): {Parts}")]
    private static partial void LogPartsPending(ILogger logger, string parts);
}
