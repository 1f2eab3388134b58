using AgentStack.EventStore.Sqlite;
using AgentStack.Events;
using Microsoft.Data.Sqlite;

namespace AgentStack.EventStore.Tests.Sqlite;

/// <summary>
/// Under load the projections read the log all the time, and SQLite's own checkpoints, run right after each commit,
/// seldom copy the whole WAL back, which it needs to restart from its beginning: the WAL ran past a gigabyte in a
/// minute. Past its limit the writer restarts it between two groups (docs/event-store.md, "The WAL's size").
/// </summary>
public sealed class when_readers_keep_the_wal_busy(SqliteDatabaseFolder<when_readers_keep_the_wal_busy> folder)
    : IClassFixture<SqliteDatabaseFolder<when_readers_keep_the_wal_busy>>
{
    private const long Limit = 1 << 20;
    private static readonly EventData Payload = new("big.v1", new byte[16 << 10]);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task then_the_writer_keeps_the_wal_near_its_limit()
    {
        var path = Path.Combine(folder.Path, "busy", "events.db");
        await using var store = new SqliteEventStore(new SqliteEventStoreOptions(path) { WalSizeLimit = Limit, WalRestartSize = Limit }, TimeProvider.System);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        // Two readers, each always in a read of its own, as the projections tailing the log are.
        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() => ReadWithoutPause(path, stop.Token), Ct)).ToArray();
        await Task.WhenAll(readers.Select(r => Task.WhenAny(r, Task.Delay(200, Ct)))); // under way

        var largest = 0L;
        for (var i = 0; i < 50; i++)
        {
            await Task.WhenAll(Enumerable.Range(0, 16).Select(j => store.AppendAsync($"busy-{j}", StreamAppend.Any, [Payload], Ct)));
            largest = Math.Max(largest, new FileInfo(path + "-wal").Length);
        }
        await stop.CancelAsync();
        var reads = await Task.WhenAll(readers);

        reads.ShouldAllBe(count => count > 0);
        // 12.8 MB were appended: a WAL that never restarted would hold them all.
        largest.ShouldBeLessThan(4 * Limit);
        store.WalRestarts.Done.ShouldBeGreaterThan(0);
        (await store.GetLastPositionAsync(Ct)).ShouldBe(800);
    }

    [Fact]
    public async Task then_a_reader_that_outlasts_the_wait_costs_the_writer_a_wait_per_megabyte_grown_not_one_per_group()
    {
        var path = Path.Combine(folder.Path, "held", "events.db");
        await using var store = new SqliteEventStore(new SqliteEventStoreOptions(path) { WalSizeLimit = Limit, WalRestartSize = Limit }, TimeProvider.System);
        await using var reader = await HeldSnapshot.OpenAsync(path, Ct);

        for (var i = 0; i < 400; i++)
            await store.AppendAsync($"held-{i % 8}", StreamAppend.Any, [Payload], Ct);

        // Each append its own group: a try at every group past the limit would be hundreds, each waiting for the reader;
        // at this restart size the writer tries again after each further MiB (an eighth, at least 1 MiB).
        var grown = new FileInfo(path + "-wal").Length;
        grown.ShouldBeGreaterThan(8 * Limit);
        var (done, refused) = store.WalRestarts;
        done.ShouldBe(0);
        refused.ShouldBeInRange(1, grown / Limit);
        (await store.GetLastPositionAsync(Ct)).ShouldBe(400);
    }

    [Fact]
    public async Task then_a_long_read_of_the_log_through_the_store_lets_the_wal_restart_and_misses_no_event()
    {
        var path = Path.Combine(folder.Path, "chunked", "events.db");
        await using var store = new SqliteEventStore(new SqliteEventStoreOptions(path) { WalSizeLimit = Limit, WalRestartSize = Limit }, TimeProvider.System);
        const int logged = 96 * SqliteLogReader.ChunkRows;
        for (var i = 0; i < logged / 512; i++)
            await store.AppendAsync($"logged-{i}", StreamAppend.NoStream, TestEvents.Numbered(512), Ct);

        // One read of the whole log, as a projection catching up makes, opening each event slowly until the WAL has
        // restarted (a millisecond every 64 events: about 20 ms a chunk, well under the restart's wait of 100 ms) and
        // quickly after; each round of appends meanwhile writes a MiB, the WAL's limit. A read that paced itself by the
        // clock alone ended, on a machine whose disk was slow to sync, before the appends had passed the limit.
        long? restartsAtFirst = null, restartsAtLast = null;
        var decoded = 0;
        var read = Task.Run(() => store.ReadAllAsync(0, logged, EventDataScope.All, (_, stored) =>
        {
            restartsAtFirst ??= store.WalRestarts.Done;
            if (++decoded % 64 == 0 && store.WalRestarts.Done == restartsAtFirst)
                Thread.Sleep(1);
            if (decoded == logged)
                restartsAtLast = store.WalRestarts.Done;
            return stored.ToArray();
        }, Ct), Ct);
        EventData[] round = [Payload, Payload, Payload, Payload];
        while (!read.IsCompleted)
            await Task.WhenAll(Enumerable.Range(0, 16).Select(j => store.AppendAsync($"busy-{j}", StreamAppend.Any, round, Ct)));
        var events = await read;

        // One read transaction for the whole read holds its snapshot throughout, every restart is refused, and the read
        // goes on slowly to its end: 96 chunks, two seconds and more of appends.
        (restartsAtLast - restartsAtFirst).ShouldNotBeNull().ShouldBeGreaterThan(0);
        events.Select(e => e.Position).ShouldBe(Enumerable.Range(1, logged).Select(p => (long)p));
    }

    private static int ReadWithoutPause(string path, CancellationToken stop)
    {
        using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=false");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*), SUM(LENGTH(data)) FROM events";
        var reads = 0;
        while (!stop.IsCancellationRequested)
        {
            command.ExecuteScalar();
            reads++;
        }
        return reads;
    }
}
