using AgentStack.Events;

namespace AgentStack.EventStore.Tests.Marten;

public sealed class when_time_comes_from_the_time_provider(PostgresSchema<when_time_comes_from_the_time_provider> schema)
    : IClassFixture<PostgresSchema<when_time_comes_from_the_time_provider>>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task then_recorded_at_is_that_time_truncated_to_microseconds_and_hashed_as_stored()
    {
        // 7 ticks below the microsecond: PostgreSQL keeps microseconds, so the store must truncate first.
        var now = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero).AddTicks(1_234_567);
        await using var store = schema.OpenStore(new FixedTimeProvider(now));
        var stream = TestEvents.NewStream("clock");

        await store.AppendAsync(stream, StreamAppend.NoStream, TestEvents.Numbered(2), Ct);

        var events = await store.ReadStream(stream);
        events.ShouldAllBe(e => e.RecordedAt == now.AddTicks(-7));
        EventHash.Verify(events).ShouldBeNull();
    }
}
