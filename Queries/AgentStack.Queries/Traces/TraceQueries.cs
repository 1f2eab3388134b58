using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using AgentStack.Projections.Analytics;
using AgentStack.Queries.Findings;

namespace AgentStack.Queries.Traces;

/// <summary>
/// Filters of the trace list; times are RFC 3339, <see cref="Status"/> is ok or error; <see cref="SessionId"/> and
/// <see cref="UserId"/> keep traces having a span with that session or user (<see cref="SessionAttributes"/>).
/// </summary>
public sealed record TraceFilter(DateTimeOffset? From, DateTimeOffset? To, string? Status, int Limit, string? Cursor,
    string? SessionId = null, string? UserId = null, string? Finding = null);

/// <summary>
/// Sessions and users are read from the span attributes at query time (issue 16): no column of their own, so every
/// span already stored counts. The SDK's and OpenInference's <c>session.id</c> / <c>user.id</c>, GenAI's
/// <c>gen_ai.conversation.id</c>, OpenTelemetry's <c>enduser.id</c>.
/// </summary>
public static class SessionAttributes
{
    /// <summary>The session of a row of <c>agentstack.spans</c> aliased <c>s</c>, '' when none.</summary>
    public const string Session = "coalesce(nullIf(JSONExtractString(ifNull(s.attributes, ''), 'session.id'), ''), JSONExtractString(ifNull(s.attributes, ''), 'gen_ai.conversation.id'))";

    /// <summary>The user of a row of <c>agentstack.spans</c> aliased <c>s</c>, '' when none.</summary>
    public const string User = "coalesce(nullIf(JSONExtractString(ifNull(s.attributes, ''), 'user.id'), ''), JSONExtractString(ifNull(s.attributes, ''), 'enduser.id'))";
}

/// <summary>Reads traces and spans from the ClickHouse tables the analytics projection builds.</summary>
public sealed class TraceQueries(IAnalyticsStore analytics)
{
    // Output aliases reuse column names (start_time…), and ClickHouse aliases are visible in WHERE, so
    // every filter names its column with the table alias. Times come out as RFC 3339 with microseconds; 64-bit numbers and decimals unquoted.
    private const string Settings = "SETTINGS output_format_json_quote_64bit_integers = 0, output_format_json_quote_decimals = 0";
    private const string Rfc3339 = "'%Y-%m-%dT%H:%i:%S.%fZ'";

    public Task<TraceList> GetTracesAsync(string project, TraceFilter filter, CancellationToken ct) =>
        ListTracesAsync(project, filter, narrow: null, ct);

    /// <summary>
    /// The trace list; <paramref name="narrow"/> may append further <c> AND …</c> conditions on
    /// <c>traces</c> with their parameters (the dashboard's search narrows by model, kind and text).
    /// </summary>
    internal async Task<TraceList> ListTracesAsync(string project, TraceFilter filter,
        Action<StringBuilder, Dictionary<string, object?>>? narrow, CancellationToken ct)
    {
        var parameters = new Dictionary<string, object?> { ["project"] = project, ["limit"] = filter.Limit + 1 };
        var where = new StringBuilder("traces.project = {project:String}");
        // Every time placeholder names its zone: the value travels as a UTC wall clock (ChDbParameters), and a
        // DateTime64 placeholder without one is read in the engine's zone (chDB takes the process's TZ, a server its
        // own setting). The type holds on both stores and every engine version; pinning session_timezone instead
        // would need every statement of both stores to carry it.
        if (filter.From is { } from)
        {
            where.Append(" AND traces.start_time >= {from:DateTime64(6, 'UTC')}");
            parameters["from"] = from;
        }
        if (filter.To is { } to)
        {
            where.Append(" AND traces.start_time < {to:DateTime64(6, 'UTC')}");
            parameters["to"] = to;
        }
        if (filter.Status == "error")
            where.Append(" AND traces.error_count > 0");
        else if (filter.Status == "ok")
            where.Append(" AND traces.error_count = 0");
        // GLOBAL IN in every filter by a subquery: on a cluster both tables are Distributed, where a plain IN over a
        // Distributed subquery is refused (docs/distributed.md).
        if (filter.SessionId is { Length: > 0 } session)
        {
            where.Append(CultureInfo.InvariantCulture, $" AND traces.trace_id GLOBAL IN (SELECT trace_id FROM agentstack.spans AS s WHERE s.project = {{project:String}} AND {SessionAttributes.Session} = {{sessionId:String}})");
            parameters["sessionId"] = session;
        }
        if (filter.UserId is { Length: > 0 } user)
        {
            where.Append(CultureInfo.InvariantCulture, $" AND traces.trace_id GLOBAL IN (SELECT trace_id FROM agentstack.spans AS s WHERE s.project = {{project:String}} AND {SessionAttributes.User} = {{userId:String}})");
            parameters["userId"] = user;
        }
        if (filter.Finding is { } finding)
        {
            // Issue 15.5: only traces holding a finding (of that kind), from the findings the detectors recorded.
            var kind = finding == FindingKinds.Any ? null : finding;
            where.Append(CultureInfo.InvariantCulture, $" AND traces.trace_id GLOBAL IN ({FindingsQueries.TracesWithFinding(kind)})");
            if (kind is not null)
                parameters["findingKind"] = kind;
        }
        narrow?.Invoke(where, parameters);
        if (Cursor.TryDecode(filter.Cursor, out var afterUs, out var afterTrace))
        {
            where.Append(" AND (toUnixTimestamp64Micro(traces.start_time), traces.trace_id) < ({cursorUs:Int64}, {cursorTrace:String})");
            parameters["cursorUs"] = afterUs;
            parameters["cursorTrace"] = afterTrace;
        }

        var sql = $$"""
            SELECT trace_id, name, formatDateTime(start_time, {{Rfc3339}}) AS start_time,
                   if(end_time IS NULL, NULL, formatDateTime(assumeNotNull(end_time), {{Rfc3339}})) AS end_time,
                   duration_ms, span_count, open_span_count, error_count, input_tokens, output_tokens, cost_usd, models,
                   toUnixTimestamp64Micro(traces.start_time) AS start_us
            FROM agentstack.traces AS traces FINAL
            WHERE {{where}}
            ORDER BY traces.start_time DESC, traces.trace_id DESC
            LIMIT {limit:UInt32}
            {{Settings}}
            """;
        var rows = await analytics.QueryRowsAsync(sql, parameters, RowJsonContext.Default.TraceRow, ct);
        var page = rows.Take(filter.Limit).Select(r => new TraceSummary(r.TraceId, r.Name, r.StartTime, r.EndTime,
            r.DurationMs, r.SpanCount, r.OpenSpanCount, r.ErrorCount, r.InputTokens, r.OutputTokens, r.CostUsd,
            r.ErrorCount > 0 ? "error" : r.OpenSpanCount > 0 ? "running" : "ok", r.Models)).ToList();
        var next = rows.Count > filter.Limit ? Cursor.Encode(rows[filter.Limit - 1].StartUs, rows[filter.Limit - 1].TraceId) : null;
        return new TraceList(page, next);
    }

    public async Task<TraceDetail?> GetTraceAsync(string project, string traceId, CancellationToken ct)
    {
        var sql = $$"""
            SELECT trace_id, span_id, parent_span_id, name, kind,
                   formatDateTime(start_time, {{Rfc3339}}) AS start_time,
                   if(end_time IS NULL, NULL, formatDateTime(assumeNotNull(end_time), {{Rfc3339}})) AS end_time,
                   duration_ms, status, status_message, model, provider, input_tokens, output_tokens, cost_usd,
                   input, output, attributes
            FROM agentstack.spans AS spans FINAL
            WHERE spans.project = {project:String} AND spans.trace_id = {traceId:String}
            ORDER BY spans.start_time, spans.span_id
            {{Settings}}
            """;
        var rows = await analytics.QueryRowsAsync(sql, new Dictionary<string, object?> { ["project"] = project, ["traceId"] = traceId },
            RowJsonContext.Default.SpanRow, ct);
        if (rows.Count == 0)
            return null;
        return new TraceDetail(traceId, rows.Select(r => new SpanView(r.TraceId, r.SpanId, NullIfEmpty(r.ParentSpanId),
            r.Name, r.Kind, r.StartTime, r.EndTime, r.DurationMs, NullIfEmpty(r.Status), NullIfEmpty(r.StatusMessage),
            NullIfEmpty(r.Model), NullIfEmpty(r.Provider), r.InputTokens, r.OutputTokens, r.CostUsd,
            r.Input, r.Output, r.Attributes)).ToList());
    }

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;
}

/// <summary>Keyset paging cursor: the last row's start (Unix µs) and trace id, opaque to clients.</summary>
internal static class Cursor
{
    public static string Encode(long startUs, string traceId) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{startUs.ToString(CultureInfo.InvariantCulture)}|{traceId}"))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static bool TryDecode(string? cursor, out long startUs, out string traceId)
    {
        startUs = 0;
        traceId = "";
        if (string.IsNullOrEmpty(cursor))
            return false;
        try
        {
            var padded = cursor.Replace('-', '+').Replace('_', '/');
            padded += new string('=', (4 - padded.Length % 4) % 4);
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(padded));
            var bar = text.IndexOf('|', StringComparison.Ordinal);
            if (bar <= 0 || !long.TryParse(text.AsSpan(0, bar), NumberStyles.Integer, CultureInfo.InvariantCulture, out startUs))
                return false;
            traceId = text[(bar + 1)..];
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    public static bool IsValid(string? cursor) => string.IsNullOrEmpty(cursor) || TryDecode(cursor, out _, out _);
}
