using AgentStack.Anomalies.Detecting;
using AgentStack.Events;
using AgentStack.Events.Anomalies;

namespace AgentStack.Anomalies.Tests;

/// <summary>
/// The baselines are keyed by names the spans carry, which a client can vary without end (hostile, or an
/// instrumentation that puts an id in a span's name): the engine keeps at most <c>MaxSeries</c> of each kind and
/// forgets the least recently observed, and a series forgotten warms up again before it is judged.
/// </summary>
public sealed class when_series_names_vary_without_end
{
    private static SpanRecord Llm(string traceId, string model, int minute, double ms) =>
        Generated.Span(traceId, "s1", "root", "chat", SpanKinds.Llm, minute, ms, model: model);

    [Fact]
    public void then_the_engine_keeps_at_most_the_configured_number_of_baselines()
    {
        var engine = new AnomalyEngine(new BaselineOptions { MaxSeries = 3 });
        for (var i = 0; i < 1000; i++)
            engine.Observe("p1", Llm($"t{i}", $"model-{i}", i, 900));

        engine.Series.ShouldBe((3, 3));
    }

    [Fact]
    public void then_a_series_still_observed_keeps_its_baseline_while_new_names_come_and_go()
    {
        var random = new SplitMix(5);
        var engine = new AnomalyEngine(new BaselineOptions { MaxSeries = 2 });
        var found = new List<AnomalyDetected>();
        for (var i = 0; i < 200; i++)
        {
            found.AddRange(engine.Observe("p1", Llm($"t{i}", "steady", i, Generated.LogNormal(random, 900, 0.15))));
            found.AddRange(engine.Observe("p1", Llm($"u{i}", $"passing-{i}", i, 900)));
        }
        found.AddRange(engine.Observe("p1", Llm("t-slow", "steady", 200, 9000)));

        var anomaly = found.ShouldHaveSingleItem();
        anomaly.Key.ShouldBe("steady");
        anomaly.TraceId.ShouldBe("t-slow");
    }

    [Theory]
    [InlineData(50_000, 1)]
    [InlineData(2, 0)]
    public void then_a_forgotten_series_warms_up_again_before_it_is_judged(int maxSeries, int anomalies)
    {
        var random = new SplitMix(9);
        var engine = new AnomalyEngine(new BaselineOptions { MaxSeries = maxSeries });
        for (var i = 0; i < 100; i++)
            engine.Observe("p1", Llm($"t{i}", "steady", i, Generated.LogNormal(random, 900, 0.15))).ShouldBeEmpty();
        engine.Observe("p1", Llm("u1", "other-1", 100, 900));
        engine.Observe("p1", Llm("u2", "other-2", 101, 900));

        engine.Observe("p1", Llm("t-slow", "steady", 102, 9000)).Count.ShouldBe(anomalies);
    }
}
