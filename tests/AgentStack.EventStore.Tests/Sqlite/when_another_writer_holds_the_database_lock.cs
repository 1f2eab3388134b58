using AgentStack.Events;

namespace AgentStack.EventStore.Tests.Sqlite;

/// <summary>Invariant 1: when the store cannot persist it says so (503 upstream), never success.</summary>
public sealed class when_another_writer_holds_the_database_lock(
    SqliteDatabaseFolder<when_another_writer_holds_the_database_lock> folder)
    : IClassFixture<SqliteDatabaseFolder<when_another_writer_holds_the_database_lock>>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task then_appends_fail_as_unavailable_and_succeed_once_it_is_released()
    {
        await using var store = folder.OpenStore(busyTimeout: TimeSpan.FromMilliseconds(200));
        var stream = TestEvents.NewStream("locked");
        await store.AppendAsync(stream, StreamAppend.NoStream, TestEvents.Numbered(1), Ct);
        var before = await store.GetLastPositionAsync(Ct);

        using (var intruder = folder.OpenRawConnection())
        {
            await using var begin = intruder.CreateCommand();
            begin.CommandText = "BEGIN IMMEDIATE";
            await begin.ExecuteNonQueryAsync(Ct);

            await Should.ThrowAsync<EventStoreUnavailableException>(() =>
                store.AppendAsync(stream, 1, TestEvents.Numbered(1, "while-locked"), Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct));

            await using var rollback = intruder.CreateCommand();
            rollback.CommandText = "ROLLBACK";
            await rollback.ExecuteNonQueryAsync(Ct);
        }

        (await store.GetLastPositionAsync(Ct)).ShouldBe(before);
        (await store.AppendAsync(stream, 1, TestEvents.Numbered(1, "after"), Ct)).NextVersions.ShouldBe([2L]);
        var events = await store.ReadStream(stream);
        events.Select(e => e.Text()).ShouldNotContain(t => t.Contains("while-locked"));
        EventHash.Verify(events).ShouldBeNull();
    }
}
