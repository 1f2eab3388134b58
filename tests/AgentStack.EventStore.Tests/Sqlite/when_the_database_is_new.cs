using AgentStack.EventStore.Sqlite;
using AgentStack.Events;

namespace AgentStack.EventStore.Tests.Sqlite;

public sealed class when_the_database_is_new(SqliteDatabaseFolder<when_the_database_is_new> folder)
    : IClassFixture<SqliteDatabaseFolder<when_the_database_is_new>>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task then_its_folder_and_schema_are_created_in_wal_mode_and_the_log_is_empty()
    {
        var path = Path.Combine(folder.Path, "nested", "deeper", "events.db");

        await using var store = new SqliteEventStore(new SqliteEventStoreOptions(path), TimeProvider.System);

        File.Exists(path).ShouldBeTrue();
        (await store.GetLastPositionAsync(Ct)).ShouldBe(0);
        (await store.ReadAllAsync(0, 10, Ct)).ShouldBeEmpty();
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=false");
        await connection.OpenAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        ((string?)await command.ExecuteScalarAsync(Ct)).ShouldBe("wal");
    }

    [Fact]
    public async Task then_the_first_event_of_the_log_is_at_position_one()
    {
        await using var store = new SqliteEventStore(
            new SqliteEventStoreOptions(Path.Combine(folder.Path, "first", "events.db")), TimeProvider.System);

        var result = await store.AppendAsync("first", StreamAppend.NoStream, TestEvents.Numbered(1), Ct);

        result.LastPosition.ShouldBe(1);
        (await store.ReadStream("first")).Single().Position.ShouldBe(1);
    }

    [Fact]
    public void then_the_writer_fsyncs_every_commit_keeps_savepoint_journals_in_memory_a_group_in_its_cache_and_checkpoints_to_its_own_thread()
    {
        using var writer = SqliteWriter.Open($"Data Source={Path.Combine(folder.Path, "pragmas.db")};Pooling=false",
            new SqliteEventStoreOptions("unused") { BusyTimeout = TimeSpan.FromSeconds(1) });
        using var command = writer.Connection.CreateCommand();

        command.CommandText = "PRAGMA synchronous";
        ((long)command.ExecuteScalar()!).ShouldBe(2); // FULL
        command.CommandText = "PRAGMA temp_store";
        ((long)command.ExecuteScalar()!).ShouldBe(2); // MEMORY
        command.CommandText = "PRAGMA cache_size";
        ((long)command.ExecuteScalar()!).ShouldBe(-65536); // 64 MiB: a group's pages stay in memory until its commit
        command.CommandText = "PRAGMA journal_size_limit";
        ((long)command.ExecuteScalar()!).ShouldBe(SqliteEventStoreOptions.DefaultWalRestartSize); // kept at the size it restarts at
        command.CommandText = "PRAGMA wal_autocheckpoint";
        ((long)command.ExecuteScalar()!).ShouldBe(0); // SqliteCheckpointer's thread checkpoints, not the commits
    }

    [Fact]
    public void then_a_wal_restart_waits_briefly_and_leaves_the_writer_its_own_busy_timeout()
    {
        using var writer = SqliteWriter.Open($"Data Source={Path.Combine(folder.Path, "restart.db")};Pooling=false",
            new SqliteEventStoreOptions("unused") { BusyTimeout = TimeSpan.FromSeconds(3) });

        writer.Restart(TimeSpan.FromMilliseconds(100)).ShouldBeTrue(); // no reader: the WAL restarts

        using var command = writer.Connection.CreateCommand();
        command.CommandText = "PRAGMA busy_timeout";
        ((long)command.ExecuteScalar()!).ShouldBe(3000);
    }

    [Fact]
    public async Task then_a_wal_a_reader_made_grow_is_cut_back_to_the_limit_once_it_restarts()
    {
        var path = Path.Combine(folder.Path, "wal-limit", "events.db");
        const long limit = 256 << 10;
        await using var store = new SqliteEventStore(new SqliteEventStoreOptions(path) { WalSizeLimit = limit }, TimeProvider.System);
        var payload = new EventData("big.v1", new byte[16 << 10]);

        // A reader holding its snapshot keeps checkpoints from completing, as the projections do under load.
        await using (await HeldSnapshot.OpenAsync(path, Ct))
        {
            for (var i = 0; i < 400; i++)
                await store.AppendAsync($"grow-{i % 8}", StreamAppend.Any, [payload], Ct);
            new FileInfo(path + "-wal").Length.ShouldBeGreaterThan(4 * limit);
        }

        // The reader gone, a checkpoint completes and the next commits restart the WAL from its start, cut back to the limit.
        await using (var checkpoint = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=false"))
        {
            await checkpoint.OpenAsync(Ct);
            await using var command = checkpoint.CreateCommand();
            command.CommandText = "PRAGMA wal_checkpoint(PASSIVE)";
            await command.ExecuteNonQueryAsync(Ct);
        }
        for (var i = 0; i < 4; i++)
            await store.AppendAsync("after", StreamAppend.Any, [new EventData("small.v1", "{}"u8.ToArray())], Ct);

        new FileInfo(path + "-wal").Length.ShouldBeLessThanOrEqualTo(limit);
        (await store.GetLastPositionAsync(Ct)).ShouldBe(404);
    }

    [Theory]
    [InlineData(null, 8192)] // the default
    [InlineData(16384, 16384)]
    public async Task then_it_takes_the_configured_page_size_and_two_sealed_span_events_share_a_page(int? configured, long expected)
    {
        const int Count = 256;
        var path = Path.Combine(folder.Path, $"pages-{configured}", "events.db");
        var options = new SqliteEventStoreOptions(path);
        if (configured is { } size) options = options with { PageSize = size };
        await using var store = new SqliteEventStore(options, TimeProvider.System);
        // About the size of a sealed span event of the ingestion benchmark (1.9 KB): one a page at 4 KB.
        var events = Enumerable.Range(0, Count).Select(_ => new EventData("span.completed.v1", new byte[1900])).ToArray();
        await store.AppendAsync("pages", StreamAppend.NoStream, events, Ct);

        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=false");
        await connection.OpenAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA page_size";
        ((long)(await command.ExecuteScalarAsync(Ct))!).ShouldBe(expected);
        // At 4 KB each event takes a page of its own, and the file is more than 4 KB an event; here it is well under.
        command.CommandText = "PRAGMA page_count";
        ((long)(await command.ExecuteScalarAsync(Ct))! * expected).ShouldBeLessThan(Count * 4096L);
    }

    [Fact]
    public async Task then_a_file_created_with_other_pages_keeps_them_and_its_events()
    {
        var path = Path.Combine(folder.Path, "old-pages", "events.db");
        await using (var old = new SqliteEventStore(new SqliteEventStoreOptions(path) { PageSize = 4096 }, TimeProvider.System))
            await old.AppendAsync("kept", StreamAppend.NoStream, TestEvents.Numbered(3), Ct);

        await using var store = new SqliteEventStore(new SqliteEventStoreOptions(path), TimeProvider.System);
        await store.AppendAsync("kept", 3, TestEvents.Numbered(2), Ct);

        (await store.ReadStream("kept")).Select(e => e.Version).ShouldBe([1, 2, 3, 4, 5]);
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=false");
        await connection.OpenAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA page_size";
        ((long)(await command.ExecuteScalarAsync(Ct))!).ShouldBe(4096);
    }

    [Theory]
    [InlineData(2048)]
    [InlineData(12288)]
    [InlineData(131072)]
    public void then_a_page_size_sqlite_would_not_take_is_refused(int size) =>
        Should.Throw<ArgumentOutOfRangeException>(() =>
            new SqliteEventStore(new SqliteEventStoreOptions(Path.Combine(folder.Path, $"bad-{size}", "events.db")) { PageSize = size }, TimeProvider.System))
            .Message.ShouldContain("power of two from 4096 to 65536");
}
