using AgentStack.Commands.Access;
using AgentStack.Erasure.Keys;
using AgentStack.Events;
using AgentStack.Projections.Analytics;
using AgentStack.Projections.Running;
using AgentStack.Projections.Spans;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace AgentStack.Queries.Erasure;

/// <summary>The answer of an erasure: the contract's <c>subject</c> and <c>erasedAt</c>, plus how many keys were destroyed.</summary>
public sealed record SubjectErasure(string Subject, DateTimeOffset ErasedAt, int KeysDestroyed);

/// <summary>
/// <c>POST /api/projects/{project}/subjects/{subject}/erase</c> (admin scope; issue 14, docs/privacy.md):
/// destroys the subject's payload keys, records <c>subject.erased.v1</c> in stream <c>subjects-{project}</c>,
/// then overwrites the ClickHouse copies of the subject's payloads. The ClickHouse step waits until the
/// analytics projection has applied the erasure event: every span event before it was read while its key
/// existed and may have been written with plaintext, so it must be in the table before the overwrite; every
/// event read after the keys were destroyed is written erased already.
/// </summary>
public static class ErasingSubjects
{
    public const int MaxSubjectLength = 256;
    private static readonly TimeSpan ProjectionWait = TimeSpan.FromSeconds(30);

    public static IEndpointRouteBuilder MapErasure(this IEndpointRouteBuilder app)
    {
        app.MapGroup("/api/projects/{project}").WithTags("Erasure").RequireAuthorization(Scopes.Admin)
            .MapPost("/subjects/{subject}/erase", EraseAsync).WithName("EraseSubject")
            .WithSummary("Erase a subject's payloads (input, output, attributes) by destroying their keys; needs an admin key of the project");
        return app;
    }

    private static async Task<Results<Ok<SubjectErasure>, ValidationProblem, NotFound, ProblemHttpResult>> EraseAsync(
        string project, string subject, HttpContext http, SubjectKeyring keyring, IEventStore store,
        ProjectionProgress progress, IAnalyticsStore analytics, IOptions<AnalyticsOptions> analyticsOptions,
        TimeProvider clock, CancellationToken ct)
    {
        if (!http.User.CanAccess(project))
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
        await ErasedAnalyticsRows.OverwriteAsync(analytics, analyticsOptions.Value.Cluster, project, subject, ct);
        return TypedResults.Ok(new SubjectErasure(subject, erasedAt, destroyed.Count));
    }
}

/// <summary>
/// Overwrites the analytics copies of a subject's payloads (table <c>spans</c>: input, output, attributes) with
/// <c>{"erased":true}</c>, finding the rows by the same subject rule as sealing (attributes
/// <c>agentstack.subject</c>, else <c>user.id</c>, else <c>session.id</c>). A synchronous mutation, so the
/// old parts are out of use when this returns; ClickHouse deletes their files after the table's
/// <c>old_parts_lifetime</c> (docs/privacy.md).
/// </summary>
public static class ErasedAnalyticsRows
{
    private const string Erased = "'{\"erased\":true}'";

    /// <summary>The subject of a row, as <c>AgentStack.Erasure.Sealing.Subjects</c> reads it from the attributes JSON.</summary>
    public const string SubjectOfRow = """
        coalesce(
            nullIf(multiIf(JSONType(ifNull(attributes, ''), 'agentstack.subject') = 'String', JSONExtractString(ifNull(attributes, ''), 'agentstack.subject'),
                           JSONType(ifNull(attributes, ''), 'agentstack.subject') IN ('Int64', 'UInt64', 'Double'), JSONExtractRaw(ifNull(attributes, ''), 'agentstack.subject'), ''), ''),
            nullIf(multiIf(JSONType(ifNull(attributes, ''), 'user.id') = 'String', JSONExtractString(ifNull(attributes, ''), 'user.id'),
                           JSONType(ifNull(attributes, ''), 'user.id') IN ('Int64', 'UInt64', 'Double'), JSONExtractRaw(ifNull(attributes, ''), 'user.id'), ''), ''),
            nullIf(multiIf(JSONType(ifNull(attributes, ''), 'session.id') = 'String', JSONExtractString(ifNull(attributes, ''), 'session.id'),
                           JSONType(ifNull(attributes, ''), 'session.id') IN ('Int64', 'UInt64', 'Double'), JSONExtractRaw(ifNull(attributes, ''), 'session.id'), ''), ''))
        """;

    public static Task OverwriteAsync(IAnalyticsStore analytics, string? cluster, string project, string subject, CancellationToken ct)
    {
        // On a cluster, mutations run on the replicated local tables behind the Distributed one (AnalyticsSchema.ForCluster).
        var table = cluster is { Length: > 0 } ? $"agentstack.spans_local ON CLUSTER `{cluster}`" : "agentstack.spans";
        var sql = $"""
            ALTER TABLE {table} UPDATE
                input = if(input IS NULL, NULL, {Erased}),
                output = if(output IS NULL, NULL, {Erased}),
                attributes = if(attributes IS NULL, NULL, {Erased})
            WHERE project = {"{project:String}"} AND {SubjectOfRow} = {"{subject:String}"}
            SETTINGS mutations_sync = 2
            """;
        return analytics.ExecuteAsync(sql, new Dictionary<string, object?> { ["project"] = project, ["subject"] = subject }, ct);
    }
}
