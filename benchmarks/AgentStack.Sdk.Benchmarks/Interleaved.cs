using System.Diagnostics;
using System.Globalization;

namespace AgentStack.Sdk.Benchmarks;

/// <summary>
/// The sampled case of <see cref="SpanOverhead"/> measured interleaved (issue 16): on a shared machine whose load
/// swings within seconds, BenchmarkDotNet's one-after-the-other runs put the swing into the ratio. Here every round
/// times a block of each variant back to back, and the ratio reported is the median of the per-round ratios.
/// </summary>
public static class Interleaved
{
    public static void Run(int rounds, int spansPerBlock, TextWriter output)
    {
        var bench = new SpanOverhead { Sampled = true };
        bench.Setup();
        try
        {
            (string Name, Action Span)[] variants =
            [
                ("bare ActivitySource span", bench.BareSpan),
                ("AgentStack span (llm: no start record)", bench.SdkSpan),
                ("AgentStack agent span (start record on)", bench.SdkAgentSpan),
            ];
            var perSpan = variants.Select(_ => new List<double>()).ToArray();
            for (var round = -2; round < rounds; round++) // two warm-up rounds
            {
                for (var v = 0; v < variants.Length; v++)
                {
                    var span = variants[v].Span;
                    var watch = Stopwatch.StartNew();
                    for (var i = 0; i < spansPerBlock; i++)
                        span();
                    watch.Stop();
                    if (round >= 0)
                        perSpan[v].Add(watch.Elapsed.TotalNanoseconds / spansPerBlock);
                }
            }
            output.WriteLine($"{rounds} rounds x {spansPerBlock} spans per variant, interleaved; median of per-round values");
            output.WriteLine("| span | median ns | median ratio to bare (per round) |");
            output.WriteLine("|---|---:|---:|");
            for (var v = 0; v < variants.Length; v++)
            {
                var ratios = perSpan[v].Zip(perSpan[0], (x, bare) => x / bare).ToList();
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {variants[v].Name} | {Median(perSpan[v]):0} | {Median(ratios):0.00} |"));
            }
        }
        finally
        {
            bench.Cleanup();
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
