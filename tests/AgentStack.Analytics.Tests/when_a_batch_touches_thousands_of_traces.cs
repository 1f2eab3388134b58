using AgentStack.Events;
using AgentStack.Projections.Analytics;
using AgentStack.Projections.Spans;
using static AgentStack.Analytics.Tests.ChDbTestEngine;

namespace AgentStack.Analytics.Tests;

/// <summary>
/// A full projection batch can touch thousands of traces. Over HTTP the recomputed trace ids travel as a
/// query parameter in the URL, which a ClickHouse server caps (1 MiB by default, the stand-in too): one
/// statement for all of them was refused (414) and the projection retried forever. Found by the
/// distributed benchmark (issue 4).
/// </summary>
public abstract class when_a_batch_touches_thousands_of_traces(AnalyticsDatabase db)
{
    [Fact]
    public async Task then_every_trace_is_summarised_even_past_the_servers_url_limit()
    {
        // Enough ids (~41 bytes each in the parameter) to pass 1 MiB in one statement: a BatchSize of 30,000.
        const int traces = 30_000;
        var project = "p" + Guid.NewGuid().ToString("N")[..12];
        await AnalyticsSchema.ApplyAsync(db.Store, Ct);
        var start = new DateTimeOffset(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);
        var batch = Enumerable.Range(1, traces).Select(i =>
        {
            var span = new SpanRecord($"trace-{i:x32}", "root", null, "step", "llm", start, start.AddSeconds(1), "ok",
                null, null, null, null, null, null, null, null, null);
            var data = EventTypes.Serialize(new SpanCompleted(project, span, "hash", start, "key"));
            return new StoredEvent(i, TraceStream.Name(project, span.TraceId), 1, data.Type, start, data.Data, "h", "p");
        }).ToList();

        await new SpansProjection(db.Store).ApplyAsync(batch, Ct);

        (await db.Store.QueryTextAsync("SELECT count() FROM agentstack.traces FINAL WHERE project = {p:String}",
            new Dictionary<string, object?> { ["p"] = project })).ShouldBe(traces.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}

public sealed class when_a_batch_touches_thousands_of_traces_on_chdb(ChDbDatabase db)
    : when_a_batch_touches_thousands_of_traces(db), IClassFixture<ChDbDatabase>;

public sealed class when_a_batch_touches_thousands_of_traces_through_clickhouse_driver(ClickHouseDatabase db)
    : when_a_batch_touches_thousands_of_traces(db), IClassFixture<ClickHouseDatabase>;
