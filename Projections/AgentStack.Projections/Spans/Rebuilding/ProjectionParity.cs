using System.Globalization;
using System.Text;
using AgentStack.Projections.Analytics;

namespace AgentStack.Projections.Spans.Rebuilding;

/// <summary>One table's row count and checksum, and the other version's.</summary>
public sealed record TableParity(string Table, long Rows, string Checksum, string OtherTable, long OtherRows, string OtherChecksum)
{
    public bool Equal => Rows == OtherRows && Checksum == OtherChecksum;
}

/// <summary>Whether two versions of the spans projection's tables hold the same rows.</summary>
public sealed record ParityReport(TableParity Spans, TableParity Traces)
{
    public bool Equal => Spans.Equal && Traces.Equal;
}

/// <summary>
/// Proves a rebuilt version equals the incrementally built one (issue 14.6; invariant 4): per table the
/// row count and an order-free checksum, <c>groupBitXor(cityHash64(tuple(every column)))</c> over the
/// rows as readers see them (FINAL; for traces, the summary columns the queries read).
/// </summary>
public static class ProjectionParity
{
    public const string SpanColumns = """
        project, trace_id, span_id, parent_span_id, name, kind, start_time, end_time, duration_ms, status, status_message,
        model, provider, input_tokens, output_tokens, cost_usd, input, output, attributes, received_at, position
        """;

    public const string TraceColumns = """
        project, trace_id, name, start_time, end_time, duration_ms, span_count, open_span_count, error_count,
        input_tokens, output_tokens, cost_usd, models, position
        """;

    public static async Task<ParityReport> CompareAsync(IAnalyticsStore analytics, SpansTables a, SpansTables b, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        return new ParityReport(
            await CompareAsync(analytics, a.Spans, b.Spans, SpanColumns, cancellationToken),
            await CompareAsync(analytics, a.Traces, b.Traces, TraceColumns, cancellationToken));
    }

    private static async Task<TableParity> CompareAsync(IAnalyticsStore analytics, string a, string b, string columns, CancellationToken cancellationToken)
    {
        var (rowsA, sumA) = await ChecksumAsync(analytics, a, columns, cancellationToken);
        var (rowsB, sumB) = await ChecksumAsync(analytics, b, columns, cancellationToken);
        return new TableParity(a, rowsA, sumA, b, rowsB, sumB);
    }

    public static async Task<(long Rows, string Checksum)> ChecksumAsync(IAnalyticsStore analytics, string table, string columns,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(analytics);
        var text = Encoding.UTF8.GetString(await analytics.QueryAsync(
            $"SELECT count(), groupBitXor(cityHash64(tuple({columns}))) FROM {table} FINAL", null, "TabSeparated", cancellationToken)).Trim();
        var tab = text.IndexOf('\t', StringComparison.Ordinal);
        return (long.Parse(text.AsSpan(0, tab), CultureInfo.InvariantCulture), text[(tab + 1)..]);
    }
}
