using System.Text.Json;
using AgentStack.Events;

namespace AgentStack.Anomalies.Tests;

/// <summary>Generated series and traces with fixed seeds, so every run sees the same values.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5394:Do not use insecure randomness", Justification = "seeded pseudo-random test series, the same for a seed; nothing secret is drawn")]
internal static class Generated
{
    public static readonly DateTimeOffset Start = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Normal noise (Box-Muller) around <paramref name="mean"/>.</summary>
    public static double Normal(Random random, double mean, double sd)
    {
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        return mean + sd * Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>Latencies with log-normal noise (the skew real latencies have) around <paramref name="median"/>.</summary>
    public static double LogNormal(Random random, double median, double sigma) => median * Math.Exp(Normal(random, 0, sigma));

    public static SpanRecord Span(string traceId, string spanId, string? parent, string name, string kind, int minute,
        double durationMs, string? model = null, long? tokens = null, decimal? cost = null, bool error = false, string? input = null)
    {
        var start = Start.AddMinutes(minute);
        return new SpanRecord(traceId, spanId, parent, name, kind, start, start.AddMilliseconds(Math.Round(durationMs, 3)),
            error ? SpanStatuses.Error : SpanStatuses.Ok, null, model, model is null ? null : "openai",
            tokens, tokens is null ? null : 0, cost, input is null ? null : JsonDocument.Parse(input).RootElement.Clone(), null, null);
    }

    /// <summary>
    /// One agent run: a root span, an LLM call and tool calls. A looping run calls the same tool with the
    /// same arguments (written with members in a different order each time) <paramref name="repeats"/> times.
    /// </summary>
    public static IReadOnlyList<SpanRecord> Trace(string traceId, int minute, bool loops, int repeats = 6)
    {
        var spans = new List<SpanRecord>
        {
            Span(traceId, "llm", "root", "chat", SpanKinds.Llm, minute, 800, "gpt-4o", 500, 0.002m),
        };
        for (var i = 0; i < repeats; i++)
        {
            var input = loops
                ? (i % 2 == 0 ? """{"query":"weather in Paris","units":"metric"}""" : """{ "units": "metric", "query": "weather in Paris" }""")
                : $$"""{"query":"weather in city {{i}}","units":"metric"}""";
            spans.Add(Span(traceId, $"tool-{i}", "root", "search", SpanKinds.Tool, minute, 120, input: input));
        }
        spans.Add(Span(traceId, "root", null, "planner", SpanKinds.Agent, minute, 2000));
        return spans;
    }
}

/// <summary>
/// SplitMix64: a small generator of good statistical quality. The seeded <see cref="Random"/> keeps a
/// legacy algorithm for compatibility whose extremes are not those of the uniform distribution, which
/// matters to tests about tails.
/// </summary>
internal sealed class SplitMix(ulong seed) : Random
{
    private ulong state = seed;

    public override double NextDouble() => (Next64() >> 11) * (1.0 / (1UL << 53));

    protected override double Sample() => NextDouble();

    private ulong Next64()
    {
        var z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
