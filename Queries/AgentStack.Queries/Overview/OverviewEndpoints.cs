using AgentStack.Events;
using AgentStack.Queries.Findings;
using AgentStack.Queries.Traces;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace AgentStack.Queries.Overview;

/// <summary>
/// The dashboard's chart data and trace search (issue 7), on the <c>/api/projects/{project}</c> group
/// that already checks the key's scope and project. Every chart takes the same <c>from</c>, <c>to</c>
/// (RFC 3339; default the last 7 days) and <c>bucket</c> (minute, hour, day; default from the range).
/// </summary>
public static class OverviewEndpoints
{
    public static readonly TimeSpan DefaultRange = TimeSpan.FromDays(7);
    public static readonly TimeSpan MaxRange = TimeSpan.FromDays(366);
    public const int MaxScatterPoints = 2000;

    // What the DateTime64(6, 'UTC') columns hold. The engine saturates a bound outside them, so /traces takes any RFC 3339
    // time (0001-01-01 or 9999-12-31 as an open bound); the charts clamp their range to it the same way before counting
    // days in .NET, where the last days of year 9999 have no next day.
    private static readonly DateTimeOffset MinTime = new(1900, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset MaxTime = new(2299, 12, 31, 23, 59, 59, 999, 999, TimeSpan.Zero);

    public static RouteGroupBuilder MapOverview(this RouteGroupBuilder project)
    {
        var overview = project.MapGroup("/overview").WithTags("Overview");
        overview.MapGet("/usage", (string project, OverviewQueries q, TimeProvider clock, string? from, string? to, string? bucket, CancellationToken ct) =>
                Run(clock, from, to, bucket, r => q.GetUsageAsync(project, r, ct)))
            .WithName("GetUsage").WithSummary("Cost and tokens per time bucket and model");
        overview.MapGet("/security", (string project, OverviewQueries q, TimeProvider clock, string? from, string? to, CancellationToken ct) =>
                Run(clock, from, to, "day", r => q.GetSecurityAsync(project, r, ct)))
            .WithName("GetSecurityTrend").WithSummary("Anomalies detected, prompt injections blocked by the guard and prompt injections detected in recorded spans, per UTC day");
        overview.MapGet("/latency", (string project, OverviewQueries q, TimeProvider clock, string? from, string? to, int? limit, CancellationToken ct) =>
                limit is < 1 or > MaxScatterPoints
                    ? Task.FromResult<Results<Ok<LatencyScatter>, ValidationProblem>>(TypedResults.ValidationProblem(
                        new Dictionary<string, string[]> { ["limit"] = [$"limit must be between 1 and {MaxScatterPoints}"] }))
                    : Run(clock, from, to, null, r => q.GetLatencyAsync(project, r, limit ?? 500, ct)))
            .WithName("GetLatencyScatter").WithSummary("Per trace: time in tools and retrieval against time in LLM generation");
        overview.MapGet("/errors", (string project, OverviewQueries q, TimeProvider clock, string? from, string? to, string? bucket, CancellationToken ct) =>
                Run(clock, from, to, bucket, r => q.GetErrorRateAsync(project, r, ct)))
            .WithName("GetErrorRate").WithSummary("Traces and traces with errors per time bucket");
        overview.MapGet("/models", (string project, OverviewQueries q, TimeProvider clock, string? from, string? to, CancellationToken ct) =>
                Run(clock, from, to, null, r => q.GetModelLatencyAsync(project, r, ct)))
            .WithName("GetModelLatency").WithSummary("p50 and p95 span latency per model");
        overview.MapGet("/filters", (string project, OverviewQueries q, TimeProvider clock, string? from, string? to, CancellationToken ct) =>
                Run(clock, from, to, null, r => q.GetFilterOptionsAsync(project, r, ct)))
            .WithName("GetTraceFilterOptions").WithSummary("Models and span kinds seen in the range");

        project.MapGet("/traces/{traceId}/findings", async (string project, string traceId, string? detectorVersion, OverviewQueries q,
                CancellationToken ct) => TypedResults.Ok(await q.GetTraceFindingsAsync(project, traceId, detectorVersion, ct)))
            .WithTags("Traces").WithName("GetTraceFindings")
            .WithSummary("Detectors' findings on the trace's spans: the current detector versions', or ?detectorVersion='s");
        project.MapGet("/trace-search", SearchTracesAsync).WithTags("Traces")
            .WithName("SearchTraces").WithSummary("The trace list with model, kind and text filters besides time range and status");
        return project;
    }

    private static async Task<Results<Ok<TraceList>, ValidationProblem>> SearchTracesAsync(string project, OverviewQueries queries,
        string? from, string? to, string? status, string? model, string? kind, string? q, int? limit, string? cursor,
        string? sessionId, string? userId, string? finding, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        var filter = TraceEndpoints.ParseFilter(from, to, status, limit, cursor, sessionId, userId, finding, errors);
        if (kind is { Length: > 0 } && !AgentStack.Events.SpanKinds.All.Contains(kind))
            errors["kind"] = [$"kind must be one of {string.Join(", ", AgentStack.Events.SpanKinds.All)}"];
        if (q is { Length: > 200 })
            errors["q"] = ["q must be at most 200 characters"];
        if (model is { Length: > 200 })
            errors["model"] = ["model must be at most 200 characters"];
        if (errors.Count > 0)
            return TypedResults.ValidationProblem(errors);
        return TypedResults.Ok(await queries.SearchTracesAsync(project, new TraceSearchFilter(filter.From, filter.To, filter.Status,
            model, kind, q?.Trim(), filter.Limit, filter.Cursor, filter.SessionId, filter.UserId, filter.Finding), ct));
    }

    /// <summary>
    /// Parses and checks the range every chart shares, then runs <paramref name="query"/>; <paramref name="errors"/> may carry
    /// the caller's own problems with other fields, answered together with these in one ProblemDetails.
    /// </summary>
    internal static async Task<Results<Ok<T>, ValidationProblem>> Run<T>(TimeProvider clock, string? from, string? to, string? bucket,
        Func<OverviewRange, Task<T>> query, Dictionary<string, string[]>? errors = null)
    {
        errors ??= new Dictionary<string, string[]>();
        var toTime = TimeParameters.Parse(to, "to", errors) ?? clock.GetUtcNow();
        // Saturating: a "to" in the first week of year 1 has no week before it.
        var fromTime = TimeParameters.Parse(from, "from", errors)
            ?? (toTime - DateTimeOffset.MinValue > DefaultRange ? toTime - DefaultRange : DateTimeOffset.MinValue);
        var parsed = !errors.ContainsKey("from") && !errors.ContainsKey("to");
        if (parsed && fromTime >= toTime)
            errors["from"] = ["from must be before to"];
        else if (parsed && toTime - fromTime > MaxRange)
            errors["from"] = [$"the range from..to must be at most {MaxRange.TotalDays} days"];
        if (bucket is not (null or "minute" or "hour" or "day"))
            errors["bucket"] = ["bucket must be minute, hour or day"];
        else if (bucket == "minute" && toTime - fromTime > TimeSpan.FromDays(2))
            errors["bucket"] = ["bucket minute allows a range of at most 2 days"];
        if (errors.Count > 0)
            return TypedResults.ValidationProblem(errors);
        // Default bucket: about 24 to 200 points whatever the range.
        var span = toTime - fromTime;
        var chosen = bucket ?? (span <= TimeSpan.FromHours(3) ? "minute" : span <= TimeSpan.FromDays(3) ? "hour" : "day");
        return TypedResults.Ok(await query(new OverviewRange(Clamp(fromTime), Clamp(toTime), chosen)));
    }

    private static DateTimeOffset Clamp(DateTimeOffset time) => time < MinTime ? MinTime : time > MaxTime ? MaxTime : time;
}
