using System.Globalization;
using AgentStack.Events;

namespace AgentStack.Analytics.Tests.Spans;

/// <summary>Builds stored span events in log order, as the event store hands them to projections.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5394:Do not use insecure randomness", Justification = "seeded pseudo-random test spans, the same for a seed; nothing secret is drawn")]
public sealed class SpanLog(string project)
{
    private readonly List<StoredEvent> events = [];
    private readonly Dictionary<string, long> versions = new(StringComparer.Ordinal);

    public string Project => project;

    public IReadOnlyList<StoredEvent> Events => events;

    public static readonly DateTimeOffset T0 = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);

    public SpanLog Started(SpanRecord span) => Add(new SpanStarted(project, span with { EndTime = null }, "h", T0.AddMinutes(1), "key"));

    public SpanLog Completed(SpanRecord span) => Add(new SpanCompleted(project, span, "h", T0.AddMinutes(2), "key"));

    private SpanLog Add(object @event)
    {
        var data = EventTypes.Serialize(@event);
        var span = @event is SpanStarted s ? s.Span : ((SpanCompleted)@event).Span;
        var stream = TraceStream.Name(project, span.TraceId);
        var version = versions[stream] = versions.GetValueOrDefault(stream) + 1;
        var position = events.Count + 1;
        events.Add(new StoredEvent(position, stream, version, data.Type, T0.AddMinutes(3), data.Data,
            position.ToString(CultureInfo.InvariantCulture), ""));
        return this;
    }

    public static SpanRecord Span(string trace, string span, string? parent, string name, DateTimeOffset start, double? ms = null,
        string? status = "ok", string? model = null, long? inputTokens = null, long? outputTokens = null, decimal? cost = null,
        string kind = "llm") =>
        new(trace, span, parent, name, kind, start, ms is { } d ? start.AddMilliseconds(d) : null, status, null, model, null,
            inputTokens, outputTokens, cost, null, null, null);

    /// <summary>
    /// A mixed log: traces of 1-8 spans, each span started then completed later, completed at once, or
    /// left open; errors, models that change at completion, tokens and costs; traces interleaved.
    /// </summary>
    public static SpanLog Mixed(string project, int traces, int seed)
    {
        var random = new Random(seed);
        var log = new SpanLog(project);
        var pending = new List<SpanRecord>();
        string[] models = ["", "gpt-4o", "claude", "llama"];
        for (var t = 0; t < traces; t++)
        {
            var trace = $"{t:x32}";
            var start = T0.AddSeconds(t * 7).AddTicks(random.Next(0, 10_000) * 10);
            var spans = random.Next(1, 9);
            for (var i = 0; i < spans; i++)
            {
                var span = Span(trace, $"{t:x8}{i:x8}", i == 0 ? null : $"{t:x8}{random.Next(0, i):x8}", $"step {i}",
                    start.AddMilliseconds(i * 13 + random.Next(0, 5)), random.Next(1, 5000) / 4.0,
                    random.Next(0, 6) == 0 ? "error" : random.Next(0, 3) == 0 ? null : "ok",
                    models[random.Next(models.Length)], random.Next(0, 3) == 0 ? null : random.Next(0, 4000),
                    random.Next(0, 3) == 0 ? null : random.Next(0, 900),
                    random.Next(0, 2) == 0 ? null : random.Next(0, 100_000) / 1_000_000m);
                switch (random.Next(0, 4))
                {
                    case 0:
                        log.Completed(span);
                        break;
                    case 1:
                        log.Started(span with { Status = random.Next(0, 4) == 0 ? "error" : null, Model = models[random.Next(models.Length)] });
                        break;
                    default:
                        log.Started(span with { Status = null, InputTokens = random.Next(0, 2) == 0 ? 5 : null, CostUsd = null });
                        pending.Add(span);
                        break;
                }
                if (pending.Count > 0 && random.Next(0, 3) == 0)
                {
                    var k = random.Next(pending.Count);
                    log.Completed(pending[k]);
                    pending.RemoveAt(k);
                }
            }
        }
        foreach (var span in pending)
            log.Completed(span);
        return log;
    }
}
