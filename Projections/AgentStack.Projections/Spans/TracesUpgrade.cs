using System.Text;
using AgentStack.Projections.Analytics;

namespace AgentStack.Projections.Spans;

/// <summary>
/// Data directories written before issue 13.4 hold <c>traces</c> as a ReplacingMergeTree of finished
/// summaries. Before the schema scripts run, that table is moved aside; after them, the new
/// AggregatingMergeTree is filled once from <c>spans</c> FINAL (each span's latest event, as the
/// projection would have written it), and the old table dropped.
/// </summary>
public static class TracesUpgrade
{
    private const string Aside = "agentstack.traces_before_13_4";

    /// <summary>True if the old table was moved aside and <see cref="FillAsync"/> must run after the scripts.</summary>
    public static async Task<bool> MoveAsideAsync(IAnalyticsStore analytics, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(analytics);
        // The old table stores span_count; the new one derives it (an ALIAS column).
        var old = await analytics.QueryAsync(
            "SELECT name FROM system.columns WHERE database = 'agentstack' AND table = 'traces' AND name = 'span_count' AND default_kind = ''",
            null, "TabSeparated", cancellationToken);
        if (old.Length > 0)
        {
            await analytics.ExecuteAsync($"RENAME TABLE agentstack.traces TO {Aside}", null, cancellationToken);
            return true;
        }
        // Moved aside, but a crash came before the fill finished: fill again (the merges are idempotent).
        var aside = await analytics.QueryAsync(
            "SELECT name FROM system.tables WHERE database = 'agentstack' AND name = 'traces_before_13_4'", null, "TabSeparated", cancellationToken);
        return aside.Length > 0;
    }

    public static async Task FillAsync(IAnalyticsStore analytics, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(analytics);
        await analytics.ExecuteAsync("""
            INSERT INTO agentstack.traces (project, trace_id, start_time, end_time, root, spans, position)
            SELECT project, trace_id, min(start_time), max(end_time),
                   min(tuple(toUInt8(parent_span_id != ''), start_time, name)),
                   maxMap([span_id],
                          [toUInt8(if(end_time IS NULL, 1, 2) * 2 + (status = 'error'))],
                          [bitOr(bitShiftLeft(toUInt128(if(end_time IS NULL, 1, 2)), 64), toUInt128(reinterpretAsUInt64(ifNull(input_tokens, 0))))],
                          [bitOr(bitShiftLeft(toUInt128(if(end_time IS NULL, 1, 2)), 64), toUInt128(reinterpretAsUInt64(ifNull(output_tokens, 0))))],
                          [bitOr(bitShiftLeft(toUInt128(if(end_time IS NULL, 1, 2)), 64),
                                 toUInt128(reinterpretAsUInt64(toInt64(toDecimal128(ifNull(cost_usd, toDecimal64(0, 9)), 9) * 1000000000))))],
                          [concat(if(end_time IS NULL, '1', '2'), model)]),
                   max(position)
            FROM agentstack.spans FINAL
            GROUP BY project, trace_id
            """, null, cancellationToken);
        await analytics.ExecuteAsync($"DROP TABLE IF EXISTS {Aside} SYNC", null, cancellationToken);
    }
}
