using System.Text;
using System.Text.Json.Nodes;
using AgentStack.Erasure.Sealing;
using AgentStack.EventStore.Sqlite;
using AgentStack.Events;

namespace AgentStack.EventStore.Tests.Erasure;

/// <summary>
/// Issue 13: over SQLite, a read of the log opens each sealed payload from the store's buffer as the row is read
/// (<see cref="IDecodingLogReader"/>) rather than from a copy of the stored bytes. What readers get must not depend on
/// which way the store was read: the same store read through a decorator that only copies (the way of every other
/// store) is the reference.
/// </summary>
public sealed class when_a_sealed_log_is_opened_as_it_is_read : IClassFixture<SqliteDatabaseFolder<when_a_sealed_log_is_opened_as_it_is_read>>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly SqliteDatabaseFolder<when_a_sealed_log_is_opened_as_it_is_read> folder;

    public when_a_sealed_log_is_opened_as_it_is_read(SqliteDatabaseFolder<when_a_sealed_log_is_opened_as_it_is_read> folder) => this.folder = folder;

    /// <summary>
    /// A log of spans sealed now, a span sealed in the first format, an event that is not a span, a span of another
    /// subject in another trace, and alice's key erased; then two fresh readers of it, whose rings of recently appended
    /// events are empty, so both read the store: one opening as it reads, one from copies.
    /// </summary>
    private async Task<(SealingEventStore Decoding, SealingEventStore Copying, SqliteEventStore Raw)> LogAsync(string name)
    {
        var (store, raw, keys) = SealedLogs.Open(folder.Path, name);
        await store.AppendAsync("trace-p1-t1", StreamAppend.NoStream,
            [SealedLogs.SpanEvent("a", """{"q":"é \"quoted\""}""", "\"yes\"", """{"user.id":"alice"}"""),
             SealedLogs.SpanEvent("b", """{"q":"the prompt"}""", "\"the answer\"", null),
             .. TestEvents.Numbered(2)], Ct);
        var plain = SealedLogs.SpanEvent("c", """{"q":"first format"}""", "\"old\"", """{"user.id":"bob"}""");
        await raw.AppendAsync("trace-p1-t2", StreamAppend.NoStream,
            [new EventData(plain.Type, SealedLogs.SealFirstFormat(plain.Data, keys.ForSealing("p1", "bob", 20261201)))], Ct);
        await store.AppendAsync("trace-p1-t3", StreamAppend.NoStream,
            [SealedLogs.SpanEvent("d", """{"q":"kept"}""", "\"kept\"", """{"user.id":"carol"}""")], Ct);
        keys.Erase("p1", "alice").ShouldHaveSingleItem();

        raw.ShouldBeAssignableTo<IDecodingLogReader>();
        var sealer = new PayloadSealer(keys);
        return (new SealingEventStore(raw, sealer), new SealingEventStore(new CountingEventStore(raw), sealer), raw);
    }

    [Fact]
    public async Task then_readers_get_the_same_events_as_from_a_copy_of_the_stored_bytes()
    {
        var (decoding, copying, raw) = await LogAsync("same");

        var read = await decoding.ReadAllAsync(0, 100, Ct);

        read.Count.ShouldBe(6);
        read.ShouldBe(await copying.ReadAllAsync(0, 100, Ct), StoredEventComparer.Instance);
        // and it is opened: payloads as received, alice's erased, the first format's too.
        var text = read.Select(e => Encoding.UTF8.GetString(e.Data)).ToList();
        JsonNode.Parse(text[0])!["span"]!["input"]!.ToJsonString().ShouldBe("""{"erased":true}""");
        text[1].ShouldContain("the prompt");
        text[4].ShouldContain("first format");
        text[5].ShouldContain("kept");
        // Everything but the data is as stored (the streams' reads, through ADO.NET, are the reference).
        var stored = (await raw.ReadStream("trace-p1-t1")).Concat(await raw.ReadStream("trace-p1-t2"))
            .Concat(await raw.ReadStream("trace-p1-t3")).OrderBy(e => e.Position).ToList();
        (await raw.ReadAllAsync(0, 100, Ct)).ShouldBe(stored, StoredEventComparer.Instance);
        read.Select(e => (e.Position, e.Stream, e.Version, e.Type, e.RecordedAt, e.Hash, e.PrevHash))
            .ShouldBe(stored.Select(e => (e.Position, e.Stream, e.Version, e.Type, e.RecordedAt, e.Hash, e.PrevHash)));
    }

    [Fact]
    public async Task then_a_reader_of_few_payloads_gets_the_same_events_too()
    {
        var (decoding, copying, _) = await LogAsync("scoped");

        foreach (var scope in new[] { EventDataScope.AllButSpans, EventDataScope.None })
        {
            var read = await decoding.ReadAllAsync(0, 100, scope, Ct);
            read.Count.ShouldBe(6);
            read.ShouldBe(await copying.ReadAllAsync(0, 100, scope, Ct), StoredEventComparer.Instance);
        }
    }
}
