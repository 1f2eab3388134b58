using AgentStack.Erasure.Sealing;
using AgentStack.Events;

namespace AgentStack.EventStore.Tests.Erasure;

/// <summary>
/// Issue 13: the projections of findings and alerts never read a span's data. While they keep up they share the
/// events the other runners have just read and opened, without the spans' data, which is not even copied for them;
/// behind, they read the log without the spans' data, so they neither copy nor decrypt it.
/// </summary>
public sealed class when_a_reader_needs_no_span_payloads : IClassFixture<SqliteDatabaseFolder<when_a_reader_needs_no_span_payloads>>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly SqliteDatabaseFolder<when_a_reader_needs_no_span_payloads> folder;

    public when_a_reader_needs_no_span_payloads(SqliteDatabaseFolder<when_a_reader_needs_no_span_payloads> folder) => this.folder = folder;

    private async Task<(SealingEventStore Store, CountingEventStore Counted, IReadOnlyList<EventData> Appended)> OpenAsync(string name)
    {
        CountingEventStore? counted = null;
        var (store, _, _) = SealedLogs.Open(folder.Path, name, raw => counted = new CountingEventStore(raw));
        EventData[] appended = [SpanEvent("a"), SpanEvent("b"), .. TestEvents.Numbered(2)];
        await store.AppendAsync("trace-p1-t1", StreamAppend.NoStream, appended, Ct);
        return (store, counted!, appended);
    }

    private static EventData SpanEvent(string spanId) =>
        SealedLogs.SpanEvent(spanId, """{"q":"the prompt"}""", "\"the answer\"", """{"user.id":"u-1"}""");

    [Fact]
    public async Task then_while_it_keeps_up_it_gets_the_events_the_others_opened_without_a_read_of_its_own()
    {
        var (store, counted, appended) = await OpenAsync("keeping-up");
        var opened = await store.ReadAllAsync(0, 100, Ct);
        var reads = counted.AllReads;

        var shared = await store.ReadAllAsync(0, 100, EventDataScope.AllButSpans, Ct);

        counted.AllReads.ShouldBe(reads);
        shared.Select(e => e with { Data = [] }).ShouldBe(opened.Select(e => e with { Data = [] }));
        // As a read of the store in that scope gives them: the spans' data empty, the other events' as appended.
        shared.Select(e => Convert.ToHexString(e.Data)).ShouldBe(appended.Select(e =>
            PayloadSealer.Seals(e.Type) ? "" : Convert.ToHexString(e.Data)));
        opened.Select(e => Convert.ToHexString(e.Data)).ShouldBe(appended.Select(e => Convert.ToHexString(e.Data)));
    }

    [Fact]
    public async Task then_behind_it_reads_the_log_without_the_spans_data_and_leaves_it_for_no_one_else()
    {
        var (store, counted, appended) = await OpenAsync("behind");

        var behind = await store.ReadAllAsync(0, 100, EventDataScope.AllButSpans, Ct);

        counted.AllReads.ShouldBe(1);
        behind.Select(e => (e.Position, e.Type)).ShouldBe(appended.Select((e, i) => ((long)i + 1, e.Type)));
        var stored = await store.ReadAllStoredAsync(0, 100, Ct);
        behind.Select(e => e.Hash).ShouldBe(stored.Select(e => e.Hash));
        behind[0].Data.ShouldBeEmpty();
        behind[1].Data.ShouldBeEmpty();
        // Events that are not spans come as they were appended.
        behind[2].Data.ShouldBe(appended[2].Data);
        behind[3].Data.ShouldBe(appended[3].Data);

        // What it read was not opened, so it is not what a reader of payloads gets next: that one reads and opens.
        var reads = counted.AllReads;
        var opened = await store.ReadAllAsync(0, 100, Ct);
        counted.AllReads.ShouldBe(reads + 1);
        opened.Select(e => Convert.ToHexString(e.Data)).ShouldBe(appended.Select(e => Convert.ToHexString(e.Data)));
    }
}
