using AgentStack.Anomalies.Detecting;
using AgentStack.Events;

namespace AgentStack.Anomalies.Tests;

public sealed class when_errors_burst
{
    private static List<Verdict> Run(int seed, Func<int, double> errorRate, int length)
    {
        var random = new SplitMix((ulong)seed);
        var baseline = new ErrorRateBaseline(new BaselineOptions());
        return [.. Enumerable.Range(0, length).Select(i => baseline.Observe(random.NextDouble() < errorRate(i)))];
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void then_the_burst_is_flagged_within_it_and_nowhere_else(int seed)
    {
        // 2 % errors, then 60 % for 30 calls at 1,000, then 2 % again.
        var verdicts = Run(seed, i => i is >= 1000 and < 1030 ? 0.6 : 0.02, 2000);

        var flagged = verdicts.Select((v, i) => (v, i)).Where(x => x.v.Anomalous).Select(x => x.i).ToList();
        flagged.ShouldNotBeEmpty();
        flagged.Min().ShouldBeInRange(1000, 1015);
        // Flags last while the burst is in the 20-call window, no longer.
        flagged.Max().ShouldBeLessThan(1030 + 20);
        verdicts.Count(v => v.Opens).ShouldBe(1);
        var first = verdicts[flagged.Min()];
        first.Seen.ShouldBeGreaterThan(first.High);
        first.Expected.ShouldBeLessThan(0.05); // the baseline learnt before the burst, not from it
    }

    [Theory]
    [InlineData(31)]
    [InlineData(32)]
    [InlineData(33)]
    public void then_a_steady_error_rate_is_not_flagged(int seed)
    {
        Run(seed, _ => 0.05, 5000).Count(v => v.Anomalous).ShouldBe(0);
    }

    [Fact]
    public void then_a_new_normal_error_rate_stops_being_flagged()
    {
        var verdicts = Run(7, i => i < 500 ? 0.01 : 0.3, 2000);

        verdicts.Take(500).Count(v => v.Anomalous).ShouldBe(0);
        verdicts.Skip(500).Take(40).Any(v => v.Anomalous).ShouldBeTrue();
        verdicts.Skip(1200).Count(v => v.Anomalous).ShouldBe(0);
        verdicts.Count(v => v.Opens).ShouldBe(1);
    }

    [Fact]
    public void then_the_binomial_tail_is_exact_on_small_cases()
    {
        ErrorRateBaseline.BinomialTail(2, 1, 0.5).ShouldBe(0.75, 1e-12);
        ErrorRateBaseline.BinomialTail(3, 3, 0.5).ShouldBe(0.125, 1e-12);
        ErrorRateBaseline.BinomialTail(20, 0, 0.1).ShouldBe(1);
    }

    [Fact]
    public void then_the_engine_reports_a_tool_whose_calls_start_failing()
    {
        var random = new SplitMix(8);
        var engine = new AnomalyEngine(new BaselineOptions());
        var found = Enumerable.Range(0, 600)
            .SelectMany(i => engine.Observe("p1", Generated.Span($"t{i}", "s1", "root", "fetch_page", SpanKinds.Tool, i,
                100, error: random.NextDouble() < (i is >= 400 and < 430 ? 0.7 : 0.01))))
            .ToList();

        var anomaly = found.ShouldHaveSingleItem();
        anomaly.Metric.ShouldBe(AnomalyMetrics.ErrorRate);
        anomaly.Dimension.ShouldBe(AnomalyDimensions.Tool);
        anomaly.Key.ShouldBe("fetch_page");
        int.Parse(anomaly.TraceId[1..], System.Globalization.CultureInfo.InvariantCulture).ShouldBeInRange(400, 415);
    }
}
