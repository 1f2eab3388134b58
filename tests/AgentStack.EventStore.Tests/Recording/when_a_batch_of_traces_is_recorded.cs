using System.Diagnostics.Metrics;
using System.Text.Json;
using AgentStack.Commands.Spans.RecordingSpans;
using AgentStack.Events;

namespace AgentStack.EventStore.Tests.Recording;

/// <summary>
/// Issue 13: what recording a batch reads from the real SQLite store. A trace the cache of decided states lacks is
/// taken to be new, and the append's expected version checks it: new traces cost no read. When one has events after
/// all, the append is refused whole, the streams the cache lacks are asked for their versions in one read, and only
/// a trace that already has events is read whole.
/// </summary>
public sealed class when_a_batch_of_traces_is_recorded : IClassFixture<SqliteDatabaseFolder<when_a_batch_of_traces_is_recorded>>
{
    private static readonly DateTimeOffset Start = new(2026, 12, 4, 10, 0, 0, TimeSpan.Zero);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly SqliteDatabaseFolder<when_a_batch_of_traces_is_recorded> folder;

    public when_a_batch_of_traces_is_recorded(SqliteDatabaseFolder<when_a_batch_of_traces_is_recorded> folder) => this.folder = folder;

    /// <summary>A completed child span: its trace's root is still under way, so the trace is kept in the cache.</summary>
    private static SpanRecord Span(string traceId, string spanId) =>
        new(traceId, spanId, "root", "call model", SpanKinds.Llm, Start, Start.AddSeconds(1), SpanStatuses.Ok, null, "gpt-x", "openai",
            10, 20, 0.001m, JsonDocument.Parse("""{"prompt":"hi"}""").RootElement, null, null);

    private static SpanRecord Root(string traceId, DateTimeOffset? end) =>
        new(traceId, "root", null, "agent run", SpanKinds.Agent, Start, end, end is null ? null : SpanStatuses.Ok, null, null, null,
            null, null, null, null, null, null);

    private static RecordSpans Command(params SpanRecord[] spans) => new(Guid.NewGuid(), "default", "key_1", Start, spans);

    [Fact]
    public async Task then_new_traces_cost_no_read_and_a_known_trace_is_read_once_then_cached()
    {
        await using var sqlite = folder.OpenStore();
        var store = new CountingEventStore(sqlite);
        using var meters = new Meters();
        var handler = new RecordSpansHandler(store, new TraceStateCache(1_000), new IngestMetrics(meters));

        var tenNew = await handler.HandleAsync(Command([.. Enumerable.Range(0, 10).Select(t => Span($"t{t}", "s1"))]), Ct);
        tenNew.Recorded!.Accepted.ShouldBe(10);
        (store.VersionReads, store.StreamReads).ShouldBe((0, 0));

        // A second handler starts with an empty cache: t3 exists, so the first append is refused, t3 alone is read, and
        // a re-sent span is a duplicate.
        var cold = new RecordSpansHandler(store, new TraceStateCache(1_000), new IngestMetrics(meters));
        var mixed = await cold.HandleAsync(Command(Span("t3", "s1"), Span("t3", "s2"), Span("t-new", "s1")), Ct);
        (mixed.Recorded!.Accepted, mixed.Recorded.Duplicates).ShouldBe((2, 1));
        (store.VersionReads, store.StreamReads).ShouldBe((1, 1));

        // Everything it touched is now cached: no read at all.
        var again = await cold.HandleAsync(Command(Span("t3", "s3"), Span("t-new", "s2")), Ct);
        again.Recorded!.Accepted.ShouldBe(2);
        (store.VersionReads, store.StreamReads).ShouldBe((1, 1));
        (await sqlite.ReadStreamVersionsAsync([TraceStream.Name("default", "t3"), TraceStream.Name("default", "t-new")], Ct))
            .ShouldBe([3L, 2]);
        (await sqlite.ReadStreamAsync(TraceStream.Name("default", "t3"), 1, Ct).ToListAsync(Ct)).Count.ShouldBe(3);
    }

    [Fact]
    public async Task then_a_trace_recorded_whole_by_one_batch_is_not_kept_and_a_late_span_of_it_is_read_for_once()
    {
        await using var sqlite = folder.OpenStore();
        var store = new CountingEventStore(sqlite);
        using var meters = new Meters();
        var cache = new TraceStateCache(1_000);
        var handler = new RecordSpansHandler(store, cache, new IngestMetrics(meters));

        // f1's root completes with its child: finished, not kept. o1's root has only started: kept.
        (await handler.HandleAsync(Command(Root("f1", Start.AddSeconds(2)), Span("f1", "s1"), Root("o1", null), Span("o1", "s1")), Ct))
            .Recorded!.Accepted.ShouldBe(4);
        cache.TryGet(TraceStream.Name("default", "f1"), out _).ShouldBeFalse();
        cache.TryGet(TraceStream.Name("default", "o1"), out var open).ShouldBeTrue();
        (open.Version, open.State.Open, open.State.Finished).ShouldBe((2L, 1, false));

        // o1 goes on without a read, and stays cached once its root completes: it has had more than one batch.
        (await handler.HandleAsync(Command(Span("o1", "s2")), Ct)).Recorded!.Accepted.ShouldBe(1);
        (await handler.HandleAsync(Command(Root("o1", Start.AddSeconds(3))), Ct)).Recorded!.Accepted.ShouldBe(1);
        cache.TryGet(TraceStream.Name("default", "o1"), out var finished).ShouldBeTrue();
        (finished.Version, finished.State.Finished).ShouldBe((4L, true));
        (store.VersionReads, store.StreamReads).ShouldBe((0, 0));

        // A late span of f1, and the same root again: f1 is read once, the span is recorded, the root is a duplicate;
        // from then on f1 is kept like any trace with more than one batch (a long trace whose root came first).
        var late = await handler.HandleAsync(Command(Span("f1", "s2"), Root("f1", Start.AddSeconds(2))), Ct);
        (late.Recorded!.Accepted, late.Recorded.Duplicates).ShouldBe((1, 1));
        (store.VersionReads, store.StreamReads).ShouldBe((1, 1));
        (await handler.HandleAsync(Command(Span("f1", "s3")), Ct)).Recorded!.Accepted.ShouldBe(1);
        (store.VersionReads, store.StreamReads).ShouldBe((1, 1));
        (await sqlite.ReadStreamVersionsAsync([TraceStream.Name("default", "f1"), TraceStream.Name("default", "o1")], Ct)).ShouldBe([4L, 4]);
    }

    [Fact]
    public async Task then_a_changed_span_of_a_trace_the_cache_lacks_is_a_conflict_not_a_new_start()
    {
        await using var sqlite = folder.OpenStore();
        using var meters = new Meters();
        await new RecordSpansHandler(sqlite, new TraceStateCache(1_000), new IngestMetrics(meters)).HandleAsync(Command(Span("c1", "s1")), Ct);

        var cold = new RecordSpansHandler(sqlite, new TraceStateCache(1_000), new IngestMetrics(meters));
        var changed = await cold.HandleAsync(Command(Span("c1", "s1") with { Name = "another name" }), Ct);

        changed.Recorded.ShouldBeNull();
        changed.Conflicted!.Conflicts.ShouldHaveSingleItem().SpanId.ShouldBe("s1");
        (await sqlite.ReadStreamAsync(TraceStream.Name("default", "c1"), 1, Ct).ToListAsync(Ct)).Count.ShouldBe(1);
    }

    private sealed class Meters : IMeterFactory
    {
        private readonly List<Meter> created = [];

        public Meter Create(MeterOptions options)
        {
            var meter = new Meter(options);
            created.Add(meter);
            return meter;
        }

        public void Dispose() => created.ForEach(m => m.Dispose());
    }
}
