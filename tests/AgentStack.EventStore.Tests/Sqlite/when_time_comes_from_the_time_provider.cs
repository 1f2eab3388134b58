using AgentStack.Events;

namespace AgentStack.EventStore.Tests.Sqlite;

public sealed class when_time_comes_from_the_time_provider(SqliteDatabaseFolder<when_time_comes_from_the_time_provider> folder)
    : IClassFixture<SqliteDatabaseFolder<when_time_comes_from_the_time_provider>>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task then_recorded_at_is_that_time_truncated_to_whole_microseconds_and_hashed_as_stored()
    {
        // 7 ticks = 700 ns past a whole microsecond: the store must drop them, or the hash taken
        // at append time would not match the microseconds read back.
        var now = new DateTimeOffset(2025, 3, 14, 15, 9, 26, TimeSpan.Zero).AddTicks(5_358_979 * 10 + 7);
        await using var store = folder.OpenStore(new FixedTimeProvider(now));
        var stream = TestEvents.NewStream("clock");

        await store.AppendAsync(stream, StreamAppend.NoStream, TestEvents.Numbered(2), Ct);

        var events = await store.ReadStream(stream);
        events.ShouldAllBe(e => e.RecordedAt == now.AddTicks(-7));
        EventHash.Verify(events).ShouldBeNull();
    }

    [Fact]
    public async Task then_an_empty_payload_reads_back_empty()
    {
        await using var store = folder.OpenStore();
        var stream = TestEvents.NewStream("empty");

        await store.AppendAsync(stream, StreamAppend.NoStream, [new EventData("test.empty.v1", [])], Ct);

        (await store.ReadStream(stream)).Single().Data.ShouldBeEmpty();
    }
}
