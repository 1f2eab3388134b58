using AgentStack.Events;

namespace AgentStack.Projections.Spans;

/// <summary>One <c>spans</c> row: the span as its event carried it, versioned by the event's log position.</summary>
public sealed record SpanRow(string Project, SpanRecord Span, DateTimeOffset ReceivedAt, long Position);

/// <summary>
/// One span's contribution to its trace's summary. <see cref="Phase"/> is 1 for a started span, 2 for a
/// completed one; <see cref="State"/> is phase * 2 + 1 when the status is error. Tokens default to 0
/// and cost is in nano-dollars (the 9 decimals of the <c>cost_usd</c> columns), as the summary sums them.
/// </summary>
public sealed record SpanPart(string SpanId, int Phase, bool IsError, long InputTokens, long OutputTokens, long CostNanoUsd, string Model)
{
    public int State => Phase * 2 + (IsError ? 1 : 0);
}

/// <summary>
/// A trace's summary over some of its events (one batch's). Merging two parts is idempotent and order
/// free: the earliest start, the latest end, the smallest root key, per span the higher phase, the
/// highest position; the <c>traces</c> table merges them the same way (020_traces.sql).
/// </summary>
public sealed record TracePart(string Project, string TraceId, DateTimeOffset StartTime, DateTimeOffset? EndTime,
    bool RootIsChild, DateTimeOffset RootStart, string RootName, IReadOnlyList<SpanPart> Spans, long Position);

/// <summary>The rows one batch adds to each table.</summary>
public sealed record SpanRowSet(IReadOnlyList<SpanRow> Spans, IReadOnlyList<TracePart> Traces);

/// <summary>The pure part of the spans projection: events in, rows out (docs/style.md: the projection as a plain function).</summary>
public static class SpanRows
{
    public static SpanRowSet Of(IReadOnlyList<StoredEvent> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var spans = new List<SpanRow>(batch.Count);
        var traces = new Dictionary<(string Project, string TraceId), TraceBuilder>();
        foreach (var stored in batch)
        {
            var (project, span, receivedAt, phase) = EventTypes.Deserialize(stored.Type, stored.Data) switch
            {
                SpanStarted e => (e.Project, e.Span, e.ReceivedAt, 1),
                SpanCompleted e => (e.Project, e.Span, e.ReceivedAt, 2),
                _ => (null, null, default(DateTimeOffset), 0),
            };
            if (span is null)
                continue;
            spans.Add(new SpanRow(project!, span, receivedAt, stored.Position));
            if (!traces.TryGetValue((project!, span.TraceId), out var trace))
                traces[(project!, span.TraceId)] = trace = new TraceBuilder(project!, span.TraceId);
            trace.Add(span.SpanId, !string.IsNullOrEmpty(span.ParentSpanId), span.StartTime, span.EndTime, span.Name, phase,
                span.Status == "error", span.InputTokens ?? 0, span.OutputTokens ?? 0, NanoUsd(span.CostUsd), span.Model ?? "", stored.Position);
        }
        return new SpanRowSet(spans, traces.Values.Select(t => t.Build()).ToList());
    }

    /// <summary>Nano-dollars, truncated past the 9 decimals the columns keep.</summary>
    public static long NanoUsd(decimal? cost) => cost is { } c ? (long)decimal.Truncate(c * 1_000_000_000m) : 0;

}

/// <summary>One trace's summary over a batch's events, as <see cref="TracePart"/> describes the merge.</summary>
internal sealed class TraceBuilder(string project, string traceId)
{
    private readonly SortedDictionary<string, SpanPart> spans = new(StringComparer.Ordinal);
    private DateTimeOffset start = DateTimeOffset.MaxValue;
    private DateTimeOffset? end;
    private (bool IsChild, DateTimeOffset Start, string Name)? root;
    private long position;

    public void Add(string spanId, bool isChild, DateTimeOffset spanStart, DateTimeOffset? spanEnd, string name, int phase,
        bool isError, long inputTokens, long outputTokens, long costNanoUsd, string model, long at)
    {
        if (spanStart < start)
            start = spanStart;
        if (spanEnd is { } e && (end is null || e > end))
            end = e;
        var key = (IsChild: isChild, spanStart, name);
        if (root is not { } r || Compare(key, r) < 0)
            root = key;
        if (!spans.TryGetValue(spanId, out var existing) || existing.Phase < phase)
            spans[spanId] = new SpanPart(spanId, phase, isError, inputTokens, outputTokens, costNanoUsd, model);
        position = Math.Max(position, at);
    }

    public TracePart Build() =>
        new(project, traceId, start, end, root!.Value.IsChild, root.Value.Start, root.Value.Name, spans.Values.ToList(), position);

    /// <summary>ClickHouse's tuple order: false before true, then time, then the name's bytes.</summary>
    private static int Compare((bool IsChild, DateTimeOffset Start, string Name) a, (bool IsChild, DateTimeOffset Start, string Name) b) =>
        a.IsChild != b.IsChild ? a.IsChild.CompareTo(b.IsChild)
        : a.Start != b.Start ? a.Start.CompareTo(b.Start)
        : ((ReadOnlySpan<byte>)System.Text.Encoding.UTF8.GetBytes(a.Name)).SequenceCompareTo(System.Text.Encoding.UTF8.GetBytes(b.Name));
}
