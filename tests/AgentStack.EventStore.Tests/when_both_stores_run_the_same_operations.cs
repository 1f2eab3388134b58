using AgentStack.Events;
using AgentStack.EventStore.Tests.Marten;

namespace AgentStack.EventStore.Tests;

/// <summary>
/// One sequence of appends and reads, at the edges of the port (expected versions of every kind, empty appends, reads
/// at version and position boundaries), run against the SQLite and the PostgreSQL store on the same clock: every
/// outcome, position and hash must be the same, so a deployment can move from one to the other without a reader
/// seeing a difference (docs/event-store.md).
/// </summary>
public sealed class when_both_stores_run_the_same_operations(
    SqliteDatabaseFolder<when_both_stores_run_the_same_operations> folder, PostgresSchema<when_both_stores_run_the_same_operations> schema)
    : IClassFixture<SqliteDatabaseFolder<when_both_stores_run_the_same_operations>>, IClassFixture<PostgresSchema<when_both_stores_run_the_same_operations>>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task then_they_give_the_same_outcomes_positions_and_hashes()
    {
        // Each store on a clock of its own that starts at the same time: the hashes cover the recorded times.
        static FixedTimeProvider Clock() => new(new DateTimeOffset(2026, 12, 7, 13, 0, 0, TimeSpan.Zero).AddTicks(1_234_567));
        List<string> sqlite, postgres;
        var clock = Clock();
        await using (var store = folder.OpenStore(clock))
            sqlite = await RunAsync(store, clock);
        clock = Clock();
        await using (var store = schema.OpenStore(clock))
            postgres = await RunAsync(store, clock);

        postgres.Count.ShouldBe(sqlite.Count);
        // The first outcome that differs, if any, rather than both whole lists.
        postgres.Zip(sqlite).FirstOrDefault(p => p.First != p.Second).ShouldBe(default);
    }

    private static async Task<List<string>> RunAsync(IEventStore store, FixedTimeProvider clock)
    {
        var outcomes = new List<string>();
        async Task Append(string what, params StreamAppend[] appends)
        {
            clock.Now = clock.Now.AddMilliseconds(1);
            try
            {
                var result = await store.AppendAsync(appends, Ct);
                outcomes.Add($"{what}: [{string.Join(",", result.NextVersions)}] at {result.LastPosition}");
            }
            catch (WrongExpectedVersionException e)
            {
                outcomes.Add($"{what}: {e.Stream} is at {e.Actual}, not {e.Expected}");
            }
        }
        static string Show(IEnumerable<StoredEvent> events) =>
            string.Join(" ", events.Select(e => $"{e.Position}:{e.Stream}@{e.Version}:{e.Type}:{e.RecordedAt:O}:{e.Text()}:{e.PrevHash[..8]}>{e.Hash[..8]}"));
        async Task ReadStream(string stream, long from) => outcomes.Add($"{stream} from {from}: {Show(await store.ReadStream(stream, from))}");
        async Task ReadAll(long after, int count, EventDataScope scope = EventDataScope.All) =>
            outcomes.Add($"after {after} ({count}, {scope}): {Show(await store.ReadAllAsync(after, count, scope, Ct))}");

        await Append("nothing");
        await Append("no events", new StreamAppend("a", StreamAppend.NoStream, []));
        await Append("new", new StreamAppend("a", StreamAppend.NoStream, TestEvents.Numbered(3)));
        await Append("new again", new StreamAppend("a", StreamAppend.NoStream, TestEvents.Numbered(1)));
        await Append("exact", new StreamAppend("a", 3, TestEvents.Numbered(1, "exact")));
        await Append("stale", new StreamAppend("a", 3, TestEvents.Numbered(1, "stale")));
        await Append("ahead", new StreamAppend("a", 5, TestEvents.Numbered(1, "ahead")));
        await Append("missing", new StreamAppend("b", 1, TestEvents.Numbered(1)));
        await Append("any new", new StreamAppend("b", StreamAppend.Any, TestEvents.Numbered(2, "any")));
        await Append("any", new StreamAppend("b", StreamAppend.Any, TestEvents.Numbered(1, "any")));
        await Append("no events at its version", new StreamAppend("b", 3, []));
        await Append("one stale of two",
            new StreamAppend("c", StreamAppend.NoStream, TestEvents.Numbered(1)), new StreamAppend("a", 1, TestEvents.Numbered(1)));
        await Append("twice", new StreamAppend("c", StreamAppend.NoStream, TestEvents.Numbered(2, "first")),
            new StreamAppend("c", 2, TestEvents.Numbered(1, "second")), new StreamAppend("c", StreamAppend.Any, TestEvents.Numbered(1, "third")));
        await Append("twice stale", new StreamAppend("d", StreamAppend.NoStream, TestEvents.Numbered(2)),
            new StreamAppend("d", 1, TestEvents.Numbered(1)));
        await Append("spans", new StreamAppend("e", StreamAppend.NoStream,
            [TestEvents.Json(EventTypes.SpanStarted, """{"span":1}"""), TestEvents.Json(EventTypes.SpanCompleted, """{"span":1}""")]));
        // A stream longer than a page of a stream read (256 events).
        await Append("long", new StreamAppend("long", StreamAppend.NoStream, TestEvents.Numbered(300)));

        foreach (var from in new long[] { -1, 0, 1, 3, 4, 5 })
            await ReadStream("a", from);
        foreach (var from in new long[] { 1, 255, 256, 257, 300, 301 })
            await ReadStream("long", from);
        await ReadStream("nothing", 1);
        foreach (var (after, count) in new[] { (-1L, 3), (0L, 0), (0L, 1), (10L, 5), (15L, 100), (316L, 10), (317L, 10) })
            await ReadAll(after, count);
        await ReadAll(10, 8, EventDataScope.AllButSpans);
        await ReadAll(10, 8, EventDataScope.None);
        outcomes.Add($"versions: {string.Join(",", await store.ReadStreamVersionsAsync(["long", "nothing", "a", "c", "a", "e"], Ct))}");
        outcomes.Add($"last: {await store.GetLastPositionAsync(Ct)}");
        return outcomes;
    }
}
