using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using AgentStack.Events;

namespace AgentStack.Queries.Traces;

/// <summary>
/// A point in the log's history (issue 14.5): a log position (a whole number) or a time (RFC 3339); an
/// event belongs to it when its position is at most the position, or it was recorded at or before the time.
/// </summary>
public readonly record struct AsOf(long? Position, DateTimeOffset? Time)
{
    public static bool TryParse(string value, out AsOf asOf)
    {
        asOf = default;
        if (long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var position))
        {
            asOf = new AsOf(position, null);
            return true;
        }
        if (Rfc3339.TryParse(value, out var time))
        {
            asOf = new AsOf(null, time);
            return true;
        }
        return false;
    }

    public const string Problem = "asOf must be a log position (a whole number) or an RFC 3339 time such as 2026-01-31T12:00:00Z";

    public bool Includes(StoredEvent e) => Position is { } p ? e.Position <= p : e.RecordedAt <= Time!.Value;
}

/// <summary>
/// The trace list and a trace as they were at an earlier point of the log (issue 14.5), answered from the log
/// itself rather than from the analytics tables (which hold only the present): the events up to that point
/// are read through the event store (so erased payloads stay erased) and folded into the same read models
/// in memory. A trace reads its own stream; the list reads the log from the start up to the point, so its
/// cost grows with the log (docs/reading.md).
/// </summary>
public sealed class TracesAsOf(IEventStore store)
{
    private const int BatchSize = 2000;

    public async Task<TraceDetail?> GetTraceAsync(string project, string traceId, AsOf asOf, CancellationToken ct)
    {
        var spans = new Dictionary<string, SpanRecord>(StringComparer.Ordinal);
        await foreach (var e in store.ReadStreamAsync(TraceStream.Name(project, traceId), 1, ct))
        {
            if (!asOf.Includes(e))
            {
                if (asOf.Position is not null)
                    break; // positions only grow along a stream
                continue;
            }
            if (SpanOf(e, project) is { } span)
                spans[span.SpanId] = span;
        }
        if (spans.Count == 0)
            return null;
        return new TraceDetail(traceId, [.. spans.Values
            .OrderBy(s => s.StartTime).ThenBy(s => s.SpanId, StringComparer.Ordinal)
            .Select(View)]);
    }

    public async Task<TraceList> GetTracesAsync(string project, TraceFilter filter, AsOf asOf, CancellationToken ct)
    {
        var prefix = TraceStream.Name(project, "");
        var traces = new Dictionary<string, Dictionary<string, SpanRecord>>(StringComparer.Ordinal);
        // A time bound reads to the log's present end: recording times follow positions only roughly.
        var end = asOf.Position ?? await store.GetLastPositionAsync(ct);
        long after = 0;
        while (after < end)
        {
            var batch = await store.ReadAllAsync(after, BatchSize, ct);
            if (batch.Count == 0)
                break;
            foreach (var e in batch)
            {
                if (e.Position > end)
                    break;
                if (!asOf.Includes(e) || !e.Stream.StartsWith(prefix, StringComparison.Ordinal) || SpanOf(e, project) is not { } span)
                    continue;
                if (!traces.TryGetValue(span.TraceId, out var spans))
                    traces[span.TraceId] = spans = new Dictionary<string, SpanRecord>(StringComparer.Ordinal);
                spans[span.SpanId] = span;
            }
            after = batch[^1].Position;
        }

        var summaries = traces.Select(t => Summarise(t.Key, t.Value.Values)).Where(s => Matches(s.Summary, s.Start, filter))
            .OrderByDescending(s => s.Start).ThenByDescending(s => s.Summary.TraceId, StringComparer.Ordinal).ToList();
        if (Cursor.TryDecode(filter.Cursor, out var afterUs, out var afterTrace))
            summaries = [.. summaries.Where(s => EventHash.ToUnixMicroseconds(s.Start) < afterUs
                || (EventHash.ToUnixMicroseconds(s.Start) == afterUs && string.CompareOrdinal(s.Summary.TraceId, afterTrace) < 0))];
        var page = summaries.Take(filter.Limit).ToList();
        var next = summaries.Count > filter.Limit
            ? Cursor.Encode(EventHash.ToUnixMicroseconds(page[^1].Start), page[^1].Summary.TraceId)
            : null;
        return new TraceList([.. page.Select(s => s.Summary)], next);
    }

    private static bool Matches(TraceSummary summary, DateTimeOffset start, TraceFilter filter) =>
        (filter.From is not { } from || start >= from)
        && (filter.To is not { } to || start < to)
        && (filter.Status is null || (filter.Status == "error") == (summary.ErrorCount > 0));

    private static SpanRecord? SpanOf(StoredEvent e, string project) => EventTypes.Deserialize(e.Type, e.Data) switch
    {
        SpanEvent s when s.Project == project => s.Span,
        _ => null,
    };

    /// <summary>The same summary the analytics projection computes for <c>traces</c> (Projections/…/SpansProjection).</summary>
    private static (TraceSummary Summary, DateTimeOffset Start) Summarise(string traceId, ICollection<SpanRecord> spans)
    {
        var start = spans.Min(s => s.StartTime);
        var end = spans.Where(s => s.EndTime is not null).Select(s => s.EndTime!.Value).DefaultIfEmpty().Max();
        DateTimeOffset? endTime = spans.Any(s => s.EndTime is not null) ? end : null;
        var root = spans.OrderBy(s => s.ParentSpanId is { Length: > 0 }).ThenBy(s => s.StartTime).First();
        var open = spans.Count(s => s.EndTime is null);
        var errors = spans.Count(s => s.Status == SpanStatuses.Error);
        var summary = new TraceSummary(traceId, root.Name, Time(start), endTime is { } e ? Time(e) : null,
            endTime is { } f ? (f - start).TotalMicroseconds / 1000.0 : null,
            spans.Count, open, errors,
            spans.Sum(s => s.InputTokens ?? 0), spans.Sum(s => s.OutputTokens ?? 0), spans.Sum(s => s.CostUsd ?? 0m),
            errors > 0 ? "error" : open > 0 ? "running" : "ok",
            [.. spans.Select(s => s.Model).OfType<string>().Where(m => m.Length > 0).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)]);
        return (summary, start);
    }

    private static SpanView View(SpanRecord s) => new(s.TraceId, s.SpanId, s.ParentSpanId, s.Name, s.Kind, Time(s.StartTime),
        s.EndTime is { } end ? Time(end) : null, s.EndTime is { } e ? (e - s.StartTime).TotalMicroseconds / 1000.0 : null,
        s.Status, s.StatusMessage, s.Model, s.Provider, s.InputTokens, s.OutputTokens, s.CostUsd,
        Raw(s.Input), Raw(s.Output), Raw(s.Attributes));

    /// <summary>A payload as the exact JSON text stored (as the analytics columns hold it).</summary>
    private static string? Raw(JsonElement? value) =>
        value is { ValueKind: not JsonValueKind.Undefined } element ? Encoding.UTF8.GetString(JsonMarshal.GetRawUtf8Value(element)) : null;

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
}
