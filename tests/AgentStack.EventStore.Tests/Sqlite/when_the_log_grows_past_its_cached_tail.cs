using AgentStack.EventStore.Sqlite;
using AgentStack.Events;
using AgentStack.Testing;

namespace AgentStack.EventStore.Tests.Sqlite;

/// <summary>
/// Issue 13: after a checkpoint the page cache no longer holds the pages of events.db more than
/// <see cref="SqliteEventStoreOptions.CachedTail"/> before its end, read back since or not, so the log's next writes
/// take recycled pages rather than memory the kernel had left free (docs/event-store.md, "The page cache behind the
/// log"). Without a cached tail the kernel keeps them.
/// </summary>
public sealed class when_the_log_grows_past_its_cached_tail(SqliteDatabaseFolder<when_the_log_grows_past_its_cached_tail> folder)
    : IClassFixture<SqliteDatabaseFolder<when_the_log_grows_past_its_cached_tail>>
{
    private static readonly EventData Payload = new("big.v1", new byte[16 << 10]);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task then_the_pages_behind_it_leave_the_page_cache()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "posix_fadvise and mincore are Linux's");
        // Through a link, as a data directory may be: the descriptor SQLite holds is found by the file's real path.
        var directory = Directory.CreateDirectory(Path.Combine(folder.Path, "dropped"));
        var linked = Path.Combine(folder.Path, "linked");
        Directory.CreateSymbolicLink(linked, directory.FullName);
        var path = Path.Combine(linked, "events.db");
        long droppedTo;
        await using (var store = new SqliteEventStore(new SqliteEventStoreOptions(path) { CachedTail = 2L << 20 }, TimeProvider.System))
        {
            await AppendAsync(store, "dropped");
            // 24 MB appended, 2 MiB kept: a checkpoint has dropped at least the first 16 MiB.
            await Eventually.UntilAsync(() => store.PageCacheDroppedTo >= 16L << 20, TimeSpan.FromSeconds(30),
                () => $"dropped to {store.PageCacheDroppedTo} of {new FileInfo(path).Length} bytes; checkpoints {store.Checkpoints}");
            droppedTo = store.PageCacheDroppedTo;

            // A reader of old events reads a quarter of that range back; the next checkpoint drops it again.
            await foreach (var _ in store.ReadStreamAsync("dropped-0", 0, Ct)) { }
            await AppendAsync(store, "later");
            await Eventually.UntilAsync(() => store.PageCacheDroppedTo > droppedTo, TimeSpan.FromSeconds(30),
                () => $"dropped to {store.PageCacheDroppedTo} of {new FileInfo(path).Length} bytes; checkpoints {store.Checkpoints}");
        }

        // Read only after the store has closed every connection (PageCache's remark); closing checkpoints the rest of
        // the WAL into the tail, not into the range dropped.
        PageCache.ResidentShare(path, droppedTo).ShouldBeLessThan(0.2);
    }

    [Fact]
    public async Task then_without_one_the_kernel_keeps_them()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "mincore is Linux's");
        var path = Path.Combine(folder.Path, "kept", "events.db");
        await using (var store = new SqliteEventStore(new SqliteEventStoreOptions(path) { CachedTail = null }, TimeProvider.System))
        {
            await AppendAsync(store, "kept");
            await Eventually.UntilAsync(() => new FileInfo(path).Length >= 24L << 20, TimeSpan.FromSeconds(30),
                () => $"events.db is {new FileInfo(path).Length} bytes; checkpoints {store.Checkpoints}");
            store.PageCacheDroppedTo.ShouldBe(0);
        }

        PageCache.ResidentShare(path, 16L << 20).ShouldBeGreaterThan(0.8);
    }

    [Fact]
    public async Task then_a_file_deleted_under_the_store_stops_nothing()
    {
        var directory = Path.Combine(folder.Path, "deleted");
        var path = Path.Combine(directory, "events.db");
        await using var store = new SqliteEventStore(new SqliteEventStoreOptions(path) { CachedTail = 0 }, TimeProvider.System);
        await AppendAsync(store, "before");
        var checkpoints = store.Checkpoints.Done;

        // The checkpointer reads the file's length by name: with the name gone it drops nothing, and the process goes on.
        Directory.Delete(directory, recursive: true);
        await AppendAsync(store, "after");
        await Eventually.UntilAsync(() => store.Checkpoints.Done > checkpoints, TimeSpan.FromSeconds(30),
            () => $"checkpoints {store.Checkpoints}");
    }

    private static async Task AppendAsync(SqliteEventStore store, string prefix)
    {
        for (var i = 0; i < 96; i++)
            await store.AppendAsync($"{prefix}-{i % 4}", StreamAppend.Any, Enumerable.Repeat(Payload, 16).ToArray(), Ct);
    }
}
