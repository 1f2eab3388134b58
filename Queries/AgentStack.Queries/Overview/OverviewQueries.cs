using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using AgentStack.Projections.Analytics;
using AgentStack.Queries.Traces;

namespace AgentStack.Queries.Overview;

/// <summary>Filters of the dashboard's trace search: the trace list's own plus model, span kind and text.</summary>
public sealed record TraceSearchFilter(DateTimeOffset? From, DateTimeOffset? To, string? Status, string? Model, string? Kind,
    string? Text, int Limit, string? Cursor, string? SessionId = null, string? UserId = null, string? Finding = null);

/// <summary>
/// The dashboard's charts (issue 7), each one aggregate query over the ClickHouse tables the analytics
/// projection builds (spans, traces) or the detectors fill (security_findings), never over the event log.
/// Tables are read with FINAL, as their ReplacingMergeTree engines require.
/// </summary>
public sealed class OverviewQueries(IAnalyticsStore analytics, TraceQueries traces)
{
    private const string Settings = "SETTINGS output_format_json_quote_64bit_integers = 0, output_format_json_quote_decimals = 0";
    private const string Rfc3339 = "'%Y-%m-%dT%H:%i:%S.%fZ'";
    // Qualified by the table alias "s": ClickHouse lets a SELECT alias shadow a column of the same name in WHERE.
    // The times name their zone, as every time placeholder does (TraceQueries.ListTracesAsync says why).
    private const string RangeWhere = "s.project = {project:String} AND s.start_time >= {from:DateTime64(6, 'UTC')} AND s.start_time < {to:DateTime64(6, 'UTC')}";

    public async Task<UsageSeries> GetUsageAsync(string project, OverviewRange range, CancellationToken ct)
    {
        var sql = $$"""
            SELECT formatDateTime({{Interval(range.Bucket, "s.start_time")}}, '%Y-%m-%dT%H:%i:%SZ') AS bucket, model,
                   count() AS calls, sum(ifNull(input_tokens, 0)) AS input_tokens, sum(ifNull(output_tokens, 0)) AS output_tokens,
                   sum(ifNull(cost_usd, toDecimal64(0, 9))) AS cost_usd
            FROM agentstack.spans AS s FINAL
            WHERE {{RangeWhere}} AND model != ''
            GROUP BY bucket, model
            ORDER BY bucket, model
            {{Settings}}
            """;
        var rows = await analytics.QueryRowsAsync(sql, Parameters(project, range), OverviewRowJsonContext.Default.UsageRow, ct);
        return new UsageSeries(Time(range.From), Time(range.To), range.Bucket,
            rows.Select(r => new UsagePoint(r.Bucket, r.Model, r.Calls, r.InputTokens, r.OutputTokens, r.CostUsd)).ToList());
    }

    /// <summary>
    /// From <c>findings</c> (issue 15.5), which holds every anomaly event and every guard block, one row each
    /// and detection (<c>security_findings</c> has no anomalies and keeps one row per kind and span).
    /// </summary>
    public async Task<SecuritySeries> GetSecurityAsync(string project, OverviewRange range, CancellationToken ct)
    {
        var sql = $$"""
            SELECT formatDateTime(toStartOfDay(detected_at), '%Y-%m-%d') AS day,
                   countIf(kind = 'anomaly') AS anomalies,
                   countIf(kind = 'prompt_injection' AND action = 'block') AS prompt_injections_blocked,
                   countIf(kind = 'prompt_injection' AND action = 'flag') AS prompt_injections_detected
            FROM agentstack.findings FINAL
            WHERE project = {project:String} AND detected_at >= {from:DateTime64(6, 'UTC')} AND detected_at < {to:DateTime64(6, 'UTC')}
              AND {{FindingVersions.Where(null)}}
            GROUP BY day
            ORDER BY day
            {{Settings}}
            """;
        var rows = await analytics.QueryRowsAsync(sql, Parameters(project, range), OverviewRowJsonContext.Default.SecurityRow, ct);
        // A trend line needs every day, including the quiet ones: fill the days without findings with zeros.
        var byDay = rows.ToDictionary(r => r.Day, StringComparer.Ordinal);
        var days = new List<SecurityDay>();
        for (var day = range.From.UtcDateTime.Date; day < range.To.UtcDateTime; day = day.AddDays(1))
        {
            var key = day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            days.Add(byDay.TryGetValue(key, out var r) ? new SecurityDay(key, r.Anomalies, r.PromptInjectionsBlocked, r.PromptInjectionsDetected) : new SecurityDay(key, 0, 0));
        }
        return new SecuritySeries(Time(range.From), Time(range.To), rows.Sum(r => r.Anomalies + r.PromptInjectionsBlocked + r.PromptInjectionsDetected), days);
    }

    public async Task<LatencyScatter> GetLatencyAsync(string project, OverviewRange range, int limit, CancellationToken ct)
    {
        var sql = $$"""
            SELECT trace_id, argMin(s.name, s.start_time) AS name, formatDateTime(min(s.start_time), {{Rfc3339}}) AS start_time,
                   sumIf(ifNull(duration_ms, 0), kind IN ('tool', 'retrieval')) AS external_ms,
                   sumIf(ifNull(duration_ms, 0), kind = 'llm') AS llm_ms,
                   countIf(status = 'error') AS errors
            FROM agentstack.spans AS s FINAL
            WHERE {{RangeWhere}}
            GROUP BY trace_id
            HAVING external_ms > 0 OR llm_ms > 0
            ORDER BY min(s.start_time) DESC, trace_id
            LIMIT {limit:UInt32}
            {{Settings}}
            """;
        var parameters = Parameters(project, range);
        parameters["limit"] = limit;
        var rows = await analytics.QueryRowsAsync(sql, parameters, OverviewRowJsonContext.Default.LatencyRow, ct);
        return new LatencyScatter(Time(range.From), Time(range.To), rows.Select(r =>
            new LatencyPoint(r.TraceId, r.Name, r.StartTime, Math.Round(r.ExternalMs, 3), Math.Round(r.LlmMs, 3),
                r.Errors > 0 ? "error" : "ok")).ToList());
    }

    public async Task<ErrorRateSeries> GetErrorRateAsync(string project, OverviewRange range, CancellationToken ct)
    {
        var sql = $$"""
            SELECT formatDateTime({{Interval(range.Bucket, "s.start_time")}}, '%Y-%m-%dT%H:%i:%SZ') AS bucket,
                   count() AS traces, countIf(error_count > 0) AS errors
            FROM agentstack.traces AS s FINAL
            WHERE {{RangeWhere}}
            GROUP BY bucket
            ORDER BY bucket
            {{Settings}}
            """;
        var rows = await analytics.QueryRowsAsync(sql, Parameters(project, range), OverviewRowJsonContext.Default.ErrorRateRow, ct);
        return new ErrorRateSeries(Time(range.From), Time(range.To), range.Bucket, rows.Select(r =>
            new ErrorRatePoint(r.Bucket, r.Traces, r.Errors, r.Traces == 0 ? 0 : Math.Round((double)r.Errors / r.Traces, 4))).ToList());
    }

    public async Task<ModelLatencyList> GetModelLatencyAsync(string project, OverviewRange range, CancellationToken ct)
    {
        // quantileExact: the charts must agree with any recount of the rows, so no sampling here.
        const string sql = $$"""
            SELECT model, count() AS calls,
                   quantileExact(0.5)(assumeNotNull(duration_ms)) AS p50_ms,
                   quantileExact(0.95)(assumeNotNull(duration_ms)) AS p95_ms
            FROM agentstack.spans AS s FINAL
            WHERE {{RangeWhere}} AND model != '' AND duration_ms IS NOT NULL
            GROUP BY model
            ORDER BY model
            {{Settings}}
            """;
        var rows = await analytics.QueryRowsAsync(sql, Parameters(project, range), OverviewRowJsonContext.Default.ModelLatencyRow, ct);
        return new ModelLatencyList(Time(range.From), Time(range.To),
            rows.Select(r => new ModelLatency(r.Model, r.Calls, Math.Round(r.P50Ms, 3), Math.Round(r.P95Ms, 3))).ToList());
    }

    public async Task<TraceFilterOptions> GetFilterOptionsAsync(string project, OverviewRange range, CancellationToken ct)
    {
        var parameters = Parameters(project, range);
        var models = await analytics.QueryRowsAsync($"SELECT DISTINCT model AS value FROM agentstack.spans AS s FINAL WHERE {RangeWhere} AND model != '' ORDER BY value LIMIT 200",
            parameters, OverviewRowJsonContext.Default.ValueRow, ct);
        var kinds = await analytics.QueryRowsAsync($"SELECT DISTINCT toString(kind) AS value FROM agentstack.spans AS s FINAL WHERE {RangeWhere} ORDER BY value",
            parameters, OverviewRowJsonContext.Default.ValueRow, ct);
        return new TraceFilterOptions(models.Select(m => m.Value).ToList(), kinds.Select(k => k.Value).ToList());
    }

    /// <summary>The trace's findings of the current detector versions, or of <paramref name="detectorVersion"/> (issue 15.6).</summary>
    public async Task<TraceFindings> GetTraceFindingsAsync(string project, string traceId, string? detectorVersion, CancellationToken ct)
    {
        var sql = $$"""
            SELECT trace_id, span_id, toString(kind) AS kind, toString(action) AS action, score, reason,
                   formatDateTime(detected_at, {{Rfc3339}}) AS detected_at
            FROM agentstack.security_findings FINAL
            WHERE project = {project:String} AND trace_id = {traceId:String} AND {{FindingVersions.Where(detectorVersion)}}
            ORDER BY detected_at, span_id
            LIMIT 1000
            {{Settings}}
            """;
        var parameters = new Dictionary<string, object?> { ["project"] = project, ["traceId"] = traceId };
        if (!string.IsNullOrEmpty(detectorVersion))
            parameters[FindingVersions.Parameter] = detectorVersion;
        var rows = await analytics.QueryRowsAsync(sql, parameters, OverviewRowJsonContext.Default.FindingRow, ct);
        return new TraceFindings(rows.Select(r => new FindingView(r.TraceId, r.SpanId, r.Kind, r.Action, r.Score, r.Reason, r.DetectedAt)).ToList());
    }

    /// <summary>
    /// The trace list with the filters the dashboard adds (model, kind, text): the same rows, order and
    /// cursor as <c>GET /traces</c>, narrowed to traces having a span that matches.
    /// </summary>
    public Task<TraceList> SearchTracesAsync(string project, TraceSearchFilter filter, CancellationToken ct) =>
        traces.ListTracesAsync(project, new TraceFilter(filter.From, filter.To, filter.Status, filter.Limit, filter.Cursor, filter.SessionId, filter.UserId, filter.Finding),
            (where, parameters) =>
            {
                var spanWhere = new List<string>();
                if (filter.Model is { Length: > 0 } model)
                {
                    where.Append(" AND has(traces.models, {model:String})");
                    parameters["model"] = model;
                }
                if (filter.Kind is { Length: > 0 } kind)
                {
                    spanWhere.Add("kind = {kind:String}");
                    parameters["kind"] = kind;
                }
                if (filter.Text is { Length: > 0 } text)
                {
                    // Names, payloads and status messages, case-insensitive; the trace id matches too.
                    spanWhere.Add("""
                        (positionCaseInsensitiveUTF8(name, {text:String}) > 0 OR positionCaseInsensitiveUTF8(ifNull(input, ''), {text:String}) > 0
                         OR positionCaseInsensitiveUTF8(ifNull(output, ''), {text:String}) > 0 OR positionCaseInsensitiveUTF8(status_message, {text:String}) > 0
                         OR trace_id = {text:String})
                        """);
                    parameters["text"] = text;
                }
                if (spanWhere.Count > 0)
                {
                    // A trace starts with its first span, so its spans start no earlier than the range: prune with it.
                    var spanRange = filter.From is null ? "" : " AND s.start_time >= {from:DateTime64(6, 'UTC')}";
                    where.Append(CultureInfo.InvariantCulture,
                        $" AND traces.trace_id GLOBAL IN (SELECT trace_id FROM agentstack.spans AS s FINAL WHERE s.project = {{project:String}}{spanRange} AND {string.Join(" AND ", spanWhere)})");
                }
            }, ct);


    /// <summary>The bucket expression; <paramref name="bucket"/> was checked against a fixed list by the endpoint.</summary>
    internal static string Interval(string bucket, string column) => bucket switch
    {
        "minute" => $"toStartOfMinute({column})",
        "hour" => $"toStartOfHour({column})",
        "day" => $"toStartOfDay({column})",
        _ => throw new ArgumentOutOfRangeException(nameof(bucket), bucket, "bucket must be minute, hour or day"),
    };

    private static Dictionary<string, object?> Parameters(string project, OverviewRange range) =>
        new() { ["project"] = project, ["from"] = range.From, ["to"] = range.To };

    internal static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
