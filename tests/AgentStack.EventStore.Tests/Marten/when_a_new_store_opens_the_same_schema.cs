using AgentStack.Events;
using AgentStack.EventStore.Tests.Sqlite;

namespace AgentStack.EventStore.Tests.Marten;

public sealed class when_a_new_store_opens_the_same_schema(PostgresSchema<when_a_new_store_opens_the_same_schema> schema)
    : IClassFixture<PostgresSchema<when_a_new_store_opens_the_same_schema>>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task then_every_event_reads_back_and_the_log_and_chain_continue()
    {
        var stream = TestEvents.NewStream("durable");
        List<StoredEvent> written;
        long lastPosition;
        await using (var first = schema.OpenStore())
        {
            await first.AppendAsync(stream, StreamAppend.NoStream, TestEvents.Numbered(3), Ct);
            written = await first.ReadStream(stream);
            lastPosition = await first.GetLastPositionAsync(Ct);
        }

        // A new store builds a new Marten DocumentStore over the same schema, as a restarted process would.
        await using var second = schema.OpenStore();
        (await second.GetLastPositionAsync(Ct)).ShouldBe(lastPosition);
        (await second.ReadStream(stream)).ShouldBe(written, ignoreOrder: false, comparer: StoredEventComparer.Instance);

        var more = await second.AppendAsync(stream, 3, TestEvents.Numbered(2, "after-reopen"), Ct);
        more.NextVersions.ShouldBe([5L]);
        more.LastPosition.ShouldBe(lastPosition + 2);
        var events = await second.ReadStream(stream);
        events[3].PrevHash.ShouldBe(written[^1].Hash);
        EventHash.Verify(events).ShouldBeNull();
    }

    [Fact]
    public async Task then_appends_queued_before_disposal_are_committed_not_dropped()
    {
        var stream = TestEvents.NewStream("drain");
        Task<AppendResult>[] queued;
        await using (var store = schema.OpenStore())
        {
            queued = [.. Enumerable.Range(0, 100).Select(i =>
                store.AppendAsync(stream, StreamAppend.Any, TestEvents.Numbered(1, $"queued-{i}"), Ct))];
        }

        queued.ShouldAllBe(t => t.IsCompletedSuccessfully);
        await using var reopened = schema.OpenStore();
        var events = await reopened.ReadStream(stream);
        events.Count.ShouldBe(100);
        EventHash.Verify(events).ShouldBeNull();
    }

    [Fact]
    public async Task then_a_disposed_store_refuses_appends_as_unavailable()
    {
        var store = schema.OpenStore();
        await store.DisposeAsync();

        await Should.ThrowAsync<EventStoreUnavailableException>(() =>
            store.AppendAsync(TestEvents.NewStream("late"), StreamAppend.Any, TestEvents.Numbered(1), Ct));
    }
}
