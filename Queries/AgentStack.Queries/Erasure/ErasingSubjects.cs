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
/// <c>POST /api/projects/{project}/subjects/{subject}/erase</c> (admin scope; issue 14, docs/privacy.md):
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
            .WithSummary("Erase a subject's payloads (input, output, attributes) by destroying their keys; needs an admin key of the project");
        return app;
    }

    private static async Task<Results<Ok<SubjectErasure>, ValidationProblem, NotFound, ProblemHttpResult>> EraseAsync(
        string project, string subject, HttpContext http, SubjectKeyring keyring, IEventStore store,
        ProjectionProgress progress, IAnalyticsStore analytics, IOptions<AnalyticsOptions> analyticsOptions,
        TimeProvider clock, ILoggerFactory logger, CancellationToken ct)
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
        var cluster = analyticsOptions.Value.Cluster;
        var spans = await ErasedAnalyticsRows.OverwriteAsync(analytics, cluster, project, subject, ct);
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

/// <summary>
/// Overwrites the analytics copies of a subject's payloads (table <c>spans</c>: input, output, attributes) with
/// <c>{"erased":true}</c>. The rows are found by the same subject rule as sealing (attributes
/// <c>agentstack.subject</c>, else <c>user.id</c>, else <c>session.id</c>), then overwritten by their trace and
/// span ids, so the mutation ClickHouse keeps on disk names ids, never the subject. The mutation is synchronous;
/// the parts it replaced are deleted by ClickHouse after the table's <c>old_parts_lifetime</c>, which this sets
/// to <see cref="OldPartsLifetimeSeconds"/> (default 480 s) so plaintext does not linger on disk (docs/privacy.md).
/// </summary>
public static class ErasedAnalyticsRows
{
    public const int OldPartsLifetimeSeconds = 10;
    private const int Chunk = 1000;
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

    /// <summary>Overwrites the subject's rows; returns how many spans they were.</summary>
    public static async Task<int> OverwriteAsync(IAnalyticsStore analytics, string? cluster, string project, string subject, CancellationToken ct)
    {
        var found = await analytics.QueryAsync($$"""
            SELECT DISTINCT trace_id, span_id FROM agentstack.spans
            WHERE project = {project:String} AND {{SubjectOfRow}} = {subject:String}
            """, new Dictionary<string, object?> { ["project"] = project, ["subject"] = subject }, "TabSeparated", ct);
        var spans = System.Text.Encoding.UTF8.GetString(found).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split('\t')).Select(cells => (Trace: Unescape(cells[0]), Span: Unescape(cells[1]))).ToList();
        if (spans.Count == 0)
            return 0;

        var table = AgentStack.Projections.Analytics.AnalyticsSchema.AlterTarget("spans", cluster);
        await analytics.ExecuteAsync($"ALTER TABLE {table} MODIFY SETTING old_parts_lifetime = {OldPartsLifetimeSeconds}", null, ct);
        foreach (var chunk in spans.Chunk(Chunk))
        {
            await analytics.ExecuteAsync($$"""
                ALTER TABLE {{table}} UPDATE
                    input = if(input IS NULL, NULL, {{Erased}}),
                    output = if(output IS NULL, NULL, {{Erased}}),
                    attributes = if(attributes IS NULL, NULL, {{Erased}})
                WHERE project = {project:String} AND has(arrayZip({traces:Array(String)}, {spans:Array(String)}), (trace_id, span_id))
                SETTINGS mutations_sync = 2
                """, new Dictionary<string, object?>
            {
                ["project"] = project,
                ["traces"] = chunk.Select(s => s.Trace).ToArray(),
                ["spans"] = chunk.Select(s => s.Span).ToArray(),
            }, ct);
        }
        return spans.Count;
    }

    /// <summary>
    /// Waits until ClickHouse has deleted the parts the mutation replaced (they hold the plaintext until then),
    /// up to <paramref name="timeout"/>; returns those still on disk, with ClickHouse's reason, when it gives up.
    /// Only on one server: on a cluster each replica removes its own parts.
    /// </summary>
    public static async Task<IReadOnlyList<string>> WaitForReplacedPartsAsync(IAnalyticsStore analytics, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            // ClickHouse deletes outdated parts from a background task whose pace it chooses (in chDB it can wait
            // minutes). Dropping a partition that cannot exist (toYYYYMM is never 0) runs the same cleanup at
            // once: it deletes outdated parts older than old_parts_lifetime, and drops nothing.
            await analytics.ExecuteAsync("ALTER TABLE agentstack.spans DROP PARTITION ID '000000'", null, ct);
            var result = await analytics.QueryAsync(
                "SELECT name, removal_state FROM system.parts WHERE database = 'agentstack' AND table = 'spans' AND NOT active",
                null, "TabSeparated", ct);
            var pending = System.Text.Encoding.UTF8.GetString(result).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            if (pending.Length == 0)
                return pending;
            if (DateTime.UtcNow > deadline)
            {
                // What ClickHouse says about every part of the table, for the warning.
                var parts = await analytics.QueryAsync(
                    "SELECT name, active, removal_state, remove_time, modification_time, now() FROM system.parts WHERE database = 'agentstack' AND table = 'spans'",
                    null, "TabSeparated", ct);
                var table = await analytics.QueryAsync("SELECT engine_full FROM system.tables WHERE database = 'agentstack' AND name = 'spans'",
                    null, "TabSeparated", ct);
                return [.. pending, System.Text.Encoding.UTF8.GetString(parts), System.Text.Encoding.UTF8.GetString(table)];
            }
            await Task.Delay(250, ct);
        }
    }

    /// <summary>TabSeparated escapes backslash, tab and newline.</summary>
    private static string Unescape(string cell) => cell.Contains('\\', StringComparison.Ordinal)
        ? cell.Replace("\\t", "\t", StringComparison.Ordinal).Replace("\\n", "\n", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal)
        : cell;
}
