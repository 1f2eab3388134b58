using AgentStack.Anomalies.Detecting;
using AgentStack.Events;

namespace AgentStack.Anomalies.Tests;

/// <summary>Issue 15 acceptance: anomaly tests on generated series with known change points.</summary>
public sealed class when_a_series_steps_up
{
    private const int ChangePoint = 300;

    private static List<Verdict> Run(int seed, double before, double after, double sigma, int length = 700)
    {
        var random = new SplitMix((ulong)seed);
        var baseline = new RobustBaseline(new BaselineOptions(), offset: 1);
        return [.. Enumerable.Range(0, length)
            .Select(i => baseline.Observe(Generated.LogNormal(random, i < ChangePoint ? before : after, sigma)))];
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void then_the_change_is_flagged_at_the_change_point_once(int seed)
    {
        var verdicts = Run(seed, before: 200, after: 800, sigma: 0.1);

        verdicts.Take(ChangePoint).ShouldAllBe(v => !v.Anomalous);
        verdicts[ChangePoint].Anomalous.ShouldBeTrue();
        verdicts[ChangePoint].Opens.ShouldBeTrue();
        verdicts[ChangePoint].Expected.ShouldBeInRange(180, 220);
        verdicts[ChangePoint].High.ShouldBeLessThan(800);
        verdicts[ChangePoint].Score.ShouldBeGreaterThan(new BaselineOptions().Threshold);
        verdicts.Count(v => v.Opens).ShouldBe(1);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void then_the_new_normal_stops_being_flagged_once_the_window_adapts(int seed)
    {
        var verdicts = Run(seed, before: 200, after: 800, sigma: 0.1);

        // The EWMA follows within a few points, the median within half the window (25 points).
        verdicts.Skip(ChangePoint + new BaselineOptions().Window / 2).ShouldAllBe(v => !v.Anomalous);
        verdicts[^1].Expected.ShouldBeInRange(700, 900);
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    [InlineData(14)]
    public void then_noise_alone_is_not_flagged(int seed)
    {
        // Skewed noise, 30 % spread, 5,000 points, no change. (A single point far enough out, about 4.5 times
        // the median here, is flagged by design: the band is 5 robust standard deviations.)
        var verdicts = Run(seed, before: 200, after: 200, sigma: 0.3, length: 5000);

        verdicts.Where(v => v.Anomalous).ShouldBeEmpty();
        verdicts.Skip(100).ShouldAllBe(v => !v.IsWarmingUp);
    }

    [Fact]
    public void then_a_drop_is_not_an_anomaly()
    {
        Run(5, before: 800, after: 200, sigma: 0.1).Count(v => v.Anomalous).ShouldBe(0);
    }

    [Fact]
    public void then_the_engine_reports_expected_and_seen_for_a_model_whose_latency_steps_up()
    {
        var random = new SplitMix(21);
        var engine = new AnomalyEngine(new BaselineOptions());
        var found = Enumerable.Range(0, 400)
            .SelectMany(i => engine.Observe("p1", Generated.Span($"t{i}", "s1", "root", "chat", SpanKinds.Llm, i,
                Generated.LogNormal(random, i < ChangePoint ? 900 : 4000, 0.15), model: "gpt-4o")))
            .ToList();

        var anomaly = found.ShouldHaveSingleItem();
        anomaly.Dimension.ShouldBe(AnomalyDimensions.Model);
        anomaly.Key.ShouldBe("gpt-4o");
        anomaly.Metric.ShouldBe(AnomalyMetrics.Latency);
        anomaly.TraceId.ShouldBe($"t{ChangePoint}");
        anomaly.Seen.ShouldBeGreaterThan(anomaly.ExpectedHigh);
        anomaly.Expected.ShouldBeInRange(800, 1000);
        anomaly.ExpectedLow.ShouldBeLessThan(anomaly.Expected);
        anomaly.Severity.ShouldBeOneOf(Severities.Medium, Severities.High, Severities.Critical);
        anomaly.Reason.ShouldContain("expected");
        anomaly.Id.ShouldStartWith("anomaly-");
    }
}
