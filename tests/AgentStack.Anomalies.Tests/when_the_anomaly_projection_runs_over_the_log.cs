using System.Text.Json;
using AgentStack.Anomalies.Detecting;
using AgentStack.Events;
using AgentStack.Events.Anomalies;

namespace AgentStack.Anomalies.Tests;

/// <summary>The projection through the real SQLite event store: anomalies become events, once.</summary>
public sealed class when_the_anomaly_projection_runs_over_the_log
{
    /// <summary>250 agent runs whose model slows down fourfold at run 200, and one run that loops.</summary>
    private static IEnumerable<SpanRecord> History()
    {
        var random = new SplitMix(42);
        for (var i = 0; i < 250; i++)
        {
            yield return Generated.Span($"run{i:D3}", "llm", "root", "chat", SpanKinds.Llm, i,
                Generated.LogNormal(random, i < 200 ? 900 : 3600, 0.1), model: "gpt-4o");
            yield return Generated.Span($"run{i:D3}", "root", null, "answerer", SpanKinds.Agent, i, 1000);
        }
        foreach (var span in Generated.Trace("looping", 300, loops: true))
            yield return span;
    }

    private static async Task ProjectAsync(AnomalyProjection projection, IReadOnlyList<StoredEvent> log, int batchSize)
    {
        foreach (var batch in log.Chunk(batchSize))
            await projection.ApplyAsync(batch, CancellationToken.None);
    }

    [Fact]
    public async Task then_the_change_and_the_loop_are_appended_to_the_projects_stream()
    {
        await using var temp = new TempStore();
        await temp.AppendSpansAsync("acme", History());

        await ProjectAsync(new AnomalyProjection(temp.Store, new BaselineOptions()), await temp.ReadAllAsync(), 64);

        var stored = await temp.ReadStreamAsync(AnomalyStream.Name("acme"));
        stored.ShouldAllBe(e => e.Type == AnomalyDetected.TypeName);
        var anomalies = stored.Select(e => (AnomalyDetected)EventTypes.Deserialize(e.Type, e.Data)!).ToList();
        anomalies.Count.ShouldBe(2);
        var slow = anomalies.Single(a => a.Metric == AnomalyMetrics.Latency);
        (slow.Dimension, slow.Key, slow.TraceId).ShouldBe((AnomalyDimensions.Model, "gpt-4o", "run200"));
        var loop = anomalies.Single(a => a.Metric == AnomalyMetrics.Loop);
        (loop.Key, loop.TraceId).ShouldBe(("search", "looping"));
    }

    [Fact]
    public async Task then_a_restart_or_a_batch_handed_again_appends_nothing_twice()
    {
        await using var temp = new TempStore();
        await temp.AppendSpansAsync("acme", History());
        var log = await temp.ReadAllAsync();

        var projection = new AnomalyProjection(temp.Store, new BaselineOptions());
        await ProjectAsync(projection, log, 100);
        await ProjectAsync(projection, log.Skip(400).ToList(), 100); // the runner may hand a batch again
        var first = await temp.ReadStreamAsync(AnomalyStream.Name("acme"));

        // A new process: empty baselines, replay from 0, with another batch size.
        await ProjectAsync(new AnomalyProjection(temp.Store, new BaselineOptions()), log, 37);

        var after = await temp.ReadStreamAsync(AnomalyStream.Name("acme"));
        after.Count.ShouldBe(2);
        after.Select(e => e.Hash).ShouldBe(first.Select(e => e.Hash));
    }

    [Fact]
    public async Task then_a_rebuild_on_another_store_writes_the_same_events_byte_for_byte()
    {
        await using var one = new TempStore();
        await using var two = new TempStore();
        await one.AppendSpansAsync("acme", History());
        await two.AppendSpansAsync("acme", History());

        await ProjectAsync(new AnomalyProjection(one.Store, new BaselineOptions()), await one.ReadAllAsync(), 500);
        await ProjectAsync(new AnomalyProjection(two.Store, new BaselineOptions()), await two.ReadAllAsync(), 3);

        var a = await one.ReadStreamAsync(AnomalyStream.Name("acme"));
        var b = await two.ReadStreamAsync(AnomalyStream.Name("acme"));
        a.Select(e => Convert.ToBase64String(e.Data)).ShouldBe(b.Select(e => Convert.ToBase64String(e.Data)));
        using var json = JsonDocument.Parse(a[0].Data);
        json.RootElement.GetProperty("expected").GetDouble().ShouldBeGreaterThan(0);
        json.RootElement.GetProperty("seen").GetDouble().ShouldBeGreaterThan(json.RootElement.GetProperty("expectedHigh").GetDouble());
    }
}
