using System.Globalization;
using System.Text;
using AgentStack.Projections.Analytics;
using AgentStack.Queries.Overview;
using AgentStack.Queries.Traces;

namespace AgentStack.Queries.Findings;

/// <summary>
/// Reads the detectors' findings (issue 15.5) from <c>agentstack.findings</c>, which the findings projection fills
/// with one row per detection, guard block and anomaly event. The agent is the finding's trace's root span name,
/// joined from <c>traces</c> at query time, so a root span that arrives after the finding still names it.
/// </summary>
public sealed class FindingsQueries(IAnalyticsStore analytics)
{
    private const string Settings = "SETTINGS output_format_json_quote_64bit_integers = 0, output_format_json_quote_decimals = 0";
    private const string Rfc3339 = "'%Y-%m-%dT%H:%i:%S.%fZ'";

    public async Task<FindingList> ListAsync(string project, FindingsFilter filter, CancellationToken ct)
    {
        var (where, parameters) = Where(project, filter.From, filter.To, filter);
        if (Cursor.TryDecode(filter.Cursor, out var afterUs, out var afterPosition))
        {
            where.Append(" AND (toUnixTimestamp64Micro(f.detected_at), f.position) < ({cursorUs:Int64}, {cursorPosition:UInt64})");
            parameters["cursorUs"] = afterUs;
            parameters["cursorPosition"] = long.Parse(afterPosition, CultureInfo.InvariantCulture);
        }
        parameters["limit"] = filter.Limit + 1;
        // Output aliases reuse column names, and ClickHouse aliases are visible in WHERE: the filters name f.* columns.
        var sql = $$"""
            SELECT p.position AS position, p.source_position AS source_position, p.trace_id AS trace_id, p.span_id AS span_id,
                   ifNull(t.name, '') AS agent, toString(p.kind) AS kind, p.rule AS rule, toString(p.severity) AS severity, p.score AS score,
                   p.reason AS reason, p.field AS field, p.start AS start, p.length AS length, toString(p.action) AS action,
                   toString(p.detector) AS detector, p.detector_version AS detector_version,
                   formatDateTime(p.detected_at, {{Rfc3339}}) AS detected_at, toUnixTimestamp64Micro(p.detected_at) AS detected_us
            FROM (
                SELECT * FROM agentstack.findings AS f FINAL
                WHERE {{where}}
                ORDER BY f.detected_at DESC, f.position DESC
                LIMIT {limit:UInt32}
            ) AS p
            LEFT JOIN (SELECT trace_id, name FROM agentstack.traces AS t FINAL WHERE t.project = {project:String}) AS t ON t.trace_id = p.trace_id
            ORDER BY p.detected_at DESC, p.position DESC
            {{Settings}}
            """;
        var rows = await analytics.QueryRowsAsync(sql, parameters, FindingsRowJsonContext.Default.FindingItemRow, ct);
        var page = rows.Take(filter.Limit).Select(r => new FindingItem(r.Position, r.SourcePosition, r.TraceId, r.SpanId, r.Agent, r.Kind,
            r.Rule, r.Severity, r.Score, r.Reason, r.Field, r.Start, r.Length, r.Action, r.Detector, r.DetectorVersion, r.DetectedAt)).ToList();
        var next = rows.Count > filter.Limit
            ? Cursor.Encode(rows[filter.Limit - 1].DetectedUs, rows[filter.Limit - 1].Position.ToString(CultureInfo.InvariantCulture))
            : null;
        return new FindingList(page, next);
    }

    public async Task<FindingsOverTime> OverTimeAsync(string project, OverviewRange range, FindingsFilter filter, CancellationToken ct)
    {
        var (where, parameters) = Where(project, range.From, range.To, filter);
        var sql = $$"""
            SELECT formatDateTime({{OverviewQueries.Interval(range.Bucket, "f.detected_at")}}, '%Y-%m-%dT%H:%i:%SZ') AS bucket,
                   toString(f.kind) AS kind, toString(f.severity) AS severity, count() AS count
            FROM agentstack.findings AS f FINAL
            WHERE {{where}}
            GROUP BY bucket, kind, severity
            ORDER BY bucket, kind, severity
            {{Settings}}
            """;
        var rows = await analytics.QueryRowsAsync(sql, parameters, FindingsRowJsonContext.Default.FindingsPointRow, ct);
        return new FindingsOverTime(OverviewQueries.Time(range.From), OverviewQueries.Time(range.To), range.Bucket, rows.Sum(r => r.Count),
            rows.Select(r => new FindingsPoint(r.Bucket, r.Kind, r.Severity, r.Count)).ToList());
    }

    /// <summary>The traces of <paramref name="project"/> holding a finding of <paramref name="kind"/> (null: any kind) by a current detector version, as a subquery.</summary>
    internal static string TracesWithFinding(string? kind) =>
        "SELECT trace_id FROM agentstack.findings AS f FINAL WHERE f.project = {project:String} AND f.trace_id != '' AND " + FindingVersions.Where(null)
        + (kind is null ? "" : " AND f.kind = {findingKind:String}");

    private static (StringBuilder Where, Dictionary<string, object?> Parameters) Where(string project, DateTimeOffset? from, DateTimeOffset? to,
        FindingsFilter filter)
    {
        var parameters = new Dictionary<string, object?> { ["project"] = project };
        // Each detector's current version unless one is asked for (issue 15.6): a re-run's findings never count twice.
        var where = new StringBuilder("f.project = {project:String} AND ").Append(FindingVersions.Where(filter.DetectorVersion));
        if (filter.DetectorVersion is { } version)
            parameters[FindingVersions.Parameter] = version;
        // The times name their zone, as every time placeholder does (TraceQueries.ListTracesAsync says why).
        if (from is { } f)
        {
            where.Append(" AND f.detected_at >= {from:DateTime64(6, 'UTC')}");
            parameters["from"] = f;
        }
        if (to is { } t)
        {
            where.Append(" AND f.detected_at < {to:DateTime64(6, 'UTC')}");
            parameters["to"] = t;
        }
        if (filter.Kind is { } kind)
        {
            where.Append(" AND f.kind = {kind:String}");
            parameters["kind"] = kind;
        }
        if (filter.Severity is { } severity)
        {
            where.Append(" AND f.severity = {severity:String}");
            parameters["severity"] = severity;
        }
        if (filter.TraceId is { } traceId)
        {
            where.Append(" AND f.trace_id = {traceId:String}");
            parameters["traceId"] = traceId;
        }
        if (filter.Agent is { } agent)
        {
            where.Append(" AND f.trace_id GLOBAL IN (SELECT trace_id FROM agentstack.traces AS a FINAL WHERE a.project = {project:String} AND a.name = {agent:String})");
            parameters["agent"] = agent;
        }
        return (where, parameters);
    }
}
