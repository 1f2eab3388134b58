using System.Text.Json;
using AgentStack.Anomalies.Detecting;
using AgentStack.Events;

namespace AgentStack.Anomalies.Tests;

/// <summary>Issue 15 acceptance: loop detection on a generated trace.</summary>
public sealed class when_a_trace_loops
{
    [Fact]
    public void then_the_engine_reports_the_repeated_tool_call_once()
    {
        var engine = new AnomalyEngine(new BaselineOptions { LoopThreshold = 4 });

        var found = Generated.Trace("looping", 0, loops: true, repeats: 6).SelectMany(s => engine.Observe("p1", s)).ToList();

        var loop = found.ShouldHaveSingleItem();
        loop.Metric.ShouldBe(AnomalyMetrics.Loop);
        loop.Key.ShouldBe("search");
        loop.TraceId.ShouldBe("looping");
        loop.SpanId.ShouldBe("tool-3"); // the fourth identical call
        loop.Seen.ShouldBe(4);
        loop.ExpectedHigh.ShouldBe(3);
        loop.Severity.ShouldBe(Severities.High);
    }

    [Fact]
    public void then_a_trace_calling_the_tool_with_different_arguments_is_not_a_loop()
    {
        var engine = new AnomalyEngine(new BaselineOptions { LoopThreshold = 4 });

        Generated.Trace("working", 0, loops: false, repeats: 6).SelectMany(s => engine.Observe("p1", s)).ShouldBeEmpty();
    }

    [Fact]
    public void then_fewer_repeats_than_the_threshold_are_not_a_loop()
    {
        var engine = new AnomalyEngine(new BaselineOptions { LoopThreshold = 4 });

        Generated.Trace("retrying", 0, loops: true, repeats: 3).SelectMany(s => engine.Observe("p1", s)).ShouldBeEmpty();
    }

    [Fact]
    public void then_arguments_compare_by_canonical_json()
    {
        static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

        LoopDetector.ArgumentsHash(Json("""{"a":1,"b":{"d":[1,2],"c":"x"}}"""))
            .ShouldBe(LoopDetector.ArgumentsHash(Json("""{ "b": { "c": "x", "d": [1, 2] }, "a": 1 }""")));
        LoopDetector.ArgumentsHash(Json("""{"a":[1,2]}""")).ShouldNotBe(LoopDetector.ArgumentsHash(Json("""{"a":[2,1]}""")));
        LoopDetector.ArgumentsHash(Json("""{"a":"1"}""")).ShouldNotBe(LoopDetector.ArgumentsHash(Json("""{"a":1}""")));

        var calls = Generated.Trace("t", 0, loops: true, repeats: 5).Where(s => s.Kind == SpanKinds.Tool).Select(s => (s.Name, s.Input));
        var loop = LoopDetector.Find(calls, threshold: 3).ShouldHaveSingleItem();
        loop.Tool.ShouldBe("search");
        loop.Calls.ShouldBe(5);
    }

    [Fact]
    public void then_arguments_holding_an_escaped_lone_surrogate_are_compared_as_written()
    {
        // Valid JSON that ingestion accepts (a string cut inside a surrogate pair, as JavaScript's JSON.stringify writes it),
        // which does not decode to UTF-16: reading it stopped the anomaly projection at that span for good.
        static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

        var hash = LoopDetector.ArgumentsHash(Json("""{"q":"caf\ud83d","page":1}"""));
        LoopDetector.ArgumentsHash(Json("""{"q":"caf\ud83d","page":1}""")).ShouldBe(hash);
        LoopDetector.ArgumentsHash(Json("""{"q":"caf\ud83e","page":1}""")).ShouldNotBe(hash);
        LoopDetector.ArgumentsHash(Json("""{"caf\ud83d":1}""")).ShouldNotBe(hash);
    }

    [Fact]
    public void then_the_same_loop_in_another_trace_is_another_anomaly()
    {
        var engine = new AnomalyEngine(new BaselineOptions { LoopThreshold = 4 });

        var found = Generated.Trace("a", 0, loops: true).Concat(Generated.Trace("b", 1, loops: true))
            .SelectMany(s => engine.Observe("p1", s)).ToList();

        found.Count.ShouldBe(2);
        found.Select(a => a.Id).Distinct().Count().ShouldBe(2);
    }
}
