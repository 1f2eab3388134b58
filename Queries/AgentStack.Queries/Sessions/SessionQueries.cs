using System.Globalization;
using System.Text.Json.Serialization;
using AgentStack.Projections.Analytics;
using AgentStack.Queries.Traces;

namespace AgentStack.Queries.Sessions;

/// <summary>A session (conversation) with its totals over its traces.</summary>
public sealed record SessionSummary(string SessionId, IReadOnlyList<string> UserIds, int TraceCount, int ErrorCount,
    string FirstStart, string LastStart, double DurationMs, long InputTokens, long OutputTokens, decimal CostUsd);

public sealed record SessionList(IReadOnlyList<SessionSummary> Items);

/// <summary>A session's traces in the order they started, with the session's totals.</summary>
public sealed record SessionDetail(SessionSummary Session, IReadOnlyList<TraceSummary> Traces);

/// <summary>
/// Sessions and their totals (issue 16), derived at query time from the span attributes (<see cref="SessionAttributes"/>)
/// joined with the traces table; no column of their own.
/// </summary>
public sealed class SessionQueries(IAnalyticsStore analytics, TraceQueries traces)
{
    public const int MaxTracesPerSession = 500;
    private const string Settings = "SETTINGS output_format_json_quote_64bit_integers = 0, output_format_json_quote_decimals = 0";
    private const string Rfc3339 = "'%Y-%m-%dT%H:%i:%S.%fZ'";

    public async Task<SessionList> GetSessionsAsync(string project, DateTimeOffset? from, DateTimeOffset? to, string? userId, int limit, CancellationToken ct)
    {
        var parameters = new Dictionary<string, object?> { ["project"] = project, ["limit"] = limit };
        // The times name their zone, as every time placeholder does (TraceQueries.ListTracesAsync says why).
        var range = "";
        if (from is { } f)
        {
            range += " AND s.start_time >= {from:DateTime64(6, 'UTC')}";
            parameters["from"] = f;
        }
        if (to is { } t)
        {
            range += " AND s.start_time < {to:DateTime64(6, 'UTC')}";
            parameters["to"] = t;
        }
        var having = "session_id != ''";
        if (userId is { Length: > 0 })
        {
            having += " AND has(user_ids, {userId:String})";
            parameters["userId"] = userId;
        }
        var rows = await analytics.QueryRowsAsync(Sql($"s.project = {{project:String}}{range}", "anyIf(session, session != '')", having,
                "ORDER BY last_start_us DESC, session_id LIMIT {limit:UInt32}"),
            parameters, SessionRowJsonContext.Default.SessionRow, ct);
        return new SessionList(rows.Select(Summary).ToList());
    }

    public async Task<SessionDetail?> GetSessionAsync(string project, string sessionId, CancellationToken ct)
    {
        var parameters = new Dictionary<string, object?> { ["project"] = project, ["sessionId"] = sessionId };
        // Every span of the session's traces, not only those carrying the session: a trace's users are those of any of
        // its spans (docs/sdk.md), as in the list. The session is this one for each of them, whatever else they carry.
        // GLOBAL IN: on a cluster spans is Distributed, where a plain IN over a Distributed subquery is refused.
        var spanWhere = "s.project = {project:String} AND s.trace_id GLOBAL IN (SELECT trace_id FROM agentstack.spans AS s WHERE s.project = {project:String} AND "
            + SessionAttributes.Session + " = {sessionId:String})";
        var rows = await analytics.QueryRowsAsync(Sql(spanWhere, "anyIf(session, session = {sessionId:String})", "session_id = {sessionId:String}", ""),
            parameters, SessionRowJsonContext.Default.SessionRow, ct);
        if (rows.Count == 0)
            return null;
        var list = await traces.GetTracesAsync(project, new TraceFilter(null, null, null, MaxTracesPerSession, null, SessionId: sessionId), ct);
        return new SessionDetail(Summary(rows[0]), list.Items.Reverse().ToList());
    }

    /// <summary>
    /// One row per session: its traces (a trace's session and user are those of any of its spans) joined with their totals;
    /// <paramref name="sessionOfTrace"/> aggregates a trace's spans' <c>session</c> into its one session.
    /// </summary>
    private static string Sql(string spanWhere, string sessionOfTrace, string having, string tail) => $$"""
        SELECT session_id, groupUniqArrayArray(users) AS user_ids, count() AS trace_count, countIf(t.error_count > 0) AS error_count,
               formatDateTime(min(t.start_time), {{Rfc3339}}) AS first_start, formatDateTime(max(t.start_time), {{Rfc3339}}) AS last_start,
               toUnixTimestamp64Micro(max(t.start_time)) AS last_start_us,
               sum(ifNull(t.duration_ms, 0)) AS duration_ms, sum(t.input_tokens) AS input_tokens, sum(t.output_tokens) AS output_tokens,
               sum(t.cost_usd) AS cost_usd
        FROM
        (
            SELECT trace_id, {{sessionOfTrace}} AS session_id, groupUniqArrayIf(user, user != '') AS users
            FROM (SELECT s.trace_id AS trace_id, {{SessionAttributes.Session}} AS session, {{SessionAttributes.User}} AS user
                  FROM agentstack.spans AS s WHERE {{spanWhere}})
            GROUP BY trace_id
        ) AS ts
        INNER JOIN (SELECT trace_id, start_time, duration_ms, error_count, input_tokens, output_tokens, cost_usd
                    FROM agentstack.traces FINAL WHERE project = {project:String}) AS t ON t.trace_id = ts.trace_id
        GROUP BY session_id
        HAVING {{having}}
        {{tail}}
        {{Settings}}
        """;

    private static SessionSummary Summary(SessionRow r) => new(r.SessionId, r.UserIds.Order(StringComparer.Ordinal).ToList(), r.TraceCount,
        r.ErrorCount, r.FirstStart, r.LastStart, Math.Round(r.DurationMs, 3), r.InputTokens, r.OutputTokens, r.CostUsd);
}

internal sealed record SessionRow(string SessionId, string[] UserIds, int TraceCount, int ErrorCount, string FirstStart, string LastStart,
    long LastStartUs, double DurationMs, long InputTokens, long OutputTokens, decimal CostUsd);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(SessionRow))]
internal sealed partial class SessionRowJsonContext : JsonSerializerContext;
