using AgentStack.EventStore.Sqlite;
using AgentStack.Events;
using AgentStack.Testing;

namespace AgentStack.EventStore.Tests.Sqlite;

/// <summary>
/// Issue 13: the writer's commits do not copy the WAL back into events.db; a thread of its own does, while the store
/// runs (docs/event-store.md, "Checkpoints off the writer").
/// </summary>
public sealed class when_the_wal_is_checkpointed(SqliteDatabaseFolder<when_the_wal_is_checkpointed> folder)
    : IClassFixture<SqliteDatabaseFolder<when_the_wal_is_checkpointed>>
{
    private static readonly EventData Payload = new("big.v1", new byte[16 << 10]);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task then_the_checkpointer_copies_it_back_and_the_writers_commits_do_not()
    {
        var path = Path.Combine(folder.Path, "copied", "events.db");
        await using var store = new SqliteEventStore(new SqliteEventStoreOptions(path), TimeProvider.System);
        store.WriterAutoCheckpointPages.ShouldBe(0);
        var empty = new FileInfo(path).Length;

        // 12 MB: past SQLite's own checkpoint, every 1,000 pages (8 MB at 8 KB pages), had the writer still run it.
        for (var i = 0; i < 48; i++)
            await store.AppendAsync($"copied-{i % 4}", StreamAppend.Any, Enumerable.Repeat(Payload, 16).ToArray(), Ct);

        await Eventually.UntilAsync(() => new FileInfo(path).Length > empty + (12L << 20), TimeSpan.FromSeconds(30),
            () => $"events.db is {new FileInfo(path).Length} bytes; checkpoints {store.Checkpoints}");
        store.Checkpoints.Done.ShouldBeGreaterThan(0);
        store.WriterAutoCheckpointPages.ShouldBe(0);
        (await store.GetLastPositionAsync(Ct)).ShouldBe(768);
    }
}
