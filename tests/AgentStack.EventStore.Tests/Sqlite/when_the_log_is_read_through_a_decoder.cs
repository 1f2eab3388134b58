using System.Text;
using AgentStack.EventStore.Sqlite;
using AgentStack.Events;

namespace AgentStack.EventStore.Tests.Sqlite;

/// <summary>
/// Issue 13: SQLite hands each event's stored bytes to a reader's decoder as it reads the log
/// (<see cref="IDecodingLogReader"/>), and the strings neighbouring rows repeat (stream, type, the previous event's
/// hash) are made once per read. Neither may change what a read returns.
/// </summary>
public sealed class when_the_log_is_read_through_a_decoder(SqliteDatabaseFolder<when_the_log_is_read_through_a_decoder> folder)
    : IClassFixture<SqliteDatabaseFolder<when_the_log_is_read_through_a_decoder>>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Streams interleaved in one append and in separate ones, a span event among them, so neighbours differ.</summary>
    private async Task<SqliteEventStore> LogAsync(string name)
    {
        var store = new SqliteEventStore(new SqliteEventStoreOptions(Path.Combine(folder.Path, name, "events.db")), TimeProvider.System);
        await store.AppendAsync(
            [new StreamAppend("a", StreamAppend.NoStream, TestEvents.Numbered(3, "a")),
             new StreamAppend("b", StreamAppend.NoStream, TestEvents.Numbered(2, "b"))], Ct);
        await store.AppendAsync("a", 3, [TestEvents.Json(EventTypes.SpanCompleted, """{"span":"not opened here"}""")], Ct);
        await store.AppendAsync(
            [new StreamAppend("b", 2, TestEvents.Numbered(1, "b2")), new StreamAppend("a", 4, TestEvents.Numbered(2, "a2"))], Ct);
        return store;
    }

    /// <summary>The log as its streams' reads give it (the ADO.NET path), in position order: the reference.</summary>
    private static async Task<List<StoredEvent>> ByStreamsAsync(SqliteEventStore store) =>
        [.. (await store.ReadStream("a")).Concat(await store.ReadStream("b")).OrderBy(e => e.Position)];

    [Fact]
    public async Task then_the_decoder_gets_each_events_type_and_stored_bytes_and_its_result_is_the_data()
    {
        await using var store = await LogAsync("decoded");
        var expected = await ByStreamsAsync(store);
        var seen = new List<(string Type, string Stored)>();

        var read = await store.ReadAllAsync(0, 100, EventDataScope.All, (type, stored) =>
        {
            seen.Add((type, Encoding.UTF8.GetString(stored)));
            return Encoding.UTF8.GetBytes($"[{Encoding.UTF8.GetString(stored)}]");
        }, Ct);

        expected.Count.ShouldBe(9);
        seen.ShouldBe(expected.Select(e => (e.Type, e.Text())));
        read.Select(e => e.Text()).ShouldBe(expected.Select(e => $"[{e.Text()}]"));
        read.Select(e => e with { Data = [] }).ShouldBe(expected.Select(e => e with { Data = [] }));
    }

    [Fact]
    public async Task then_a_read_of_fewer_payloads_gives_the_decoder_nothing_of_those_left_out()
    {
        await using var store = await LogAsync("scoped");

        var spans = await store.ReadAllAsync(0, 100, EventDataScope.AllButSpans, (_, stored) => stored.ToArray(), Ct);
        var none = await store.ReadAllAsync(0, 100, EventDataScope.None, (_, stored) => stored.ToArray(), Ct);

        spans.Single(e => e.Type == EventTypes.SpanCompleted).Data.ShouldBeEmpty();
        spans.Where(e => e.Type != EventTypes.SpanCompleted).ShouldAllBe(e => e.Data.Length > 0);
        none.ShouldAllBe(e => e.Data.Length == 0);
        none.Select(e => e with { Data = [] }).ShouldBe((await ByStreamsAsync(store)).Select(e => e with { Data = [] }));
    }

    [Fact]
    public async Task then_a_read_from_a_position_with_a_limit_is_that_part_of_the_log()
    {
        await using var store = await LogAsync("paged");
        var all = await ByStreamsAsync(store);

        var page = await store.ReadAllAsync(3, 4, EventDataScope.All, (_, stored) => stored.ToArray(), Ct);

        page.ShouldBe(all.Skip(3).Take(4), StoredEventComparer.Instance);
        (await store.ReadAllAsync(10, 4, EventDataScope.All, (_, stored) => stored.ToArray(), Ct)).ShouldBeEmpty();
    }
}
