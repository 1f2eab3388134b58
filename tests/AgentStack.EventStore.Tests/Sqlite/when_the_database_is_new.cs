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
    public void then_the_writer_fsyncs_every_commit_keeps_savepoint_journals_in_memory_and_a_group_in_its_cache()
    {
        using var writer = SqliteWriter.Open($"Data Source={Path.Combine(folder.Path, "pragmas.db")};Pooling=false", TimeSpan.FromSeconds(1),
            new SqliteEventStoreOptions("unused").WalSizeLimit);
        using var command = writer.Connection.CreateCommand();

        command.CommandText = "PRAGMA synchronous";
        ((long)command.ExecuteScalar()!).ShouldBe(2); // FULL
        command.CommandText = "PRAGMA temp_store";
        ((long)command.ExecuteScalar()!).ShouldBe(2); // MEMORY
        command.CommandText = "PRAGMA cache_size";
        ((long)command.ExecuteScalar()!).ShouldBe(-65536); // 64 MiB: a group's pages stay in memory until its commit
        command.CommandText = "PRAGMA journal_size_limit";
        ((long)command.ExecuteScalar()!).ShouldBe(64L << 20);
    }

    [Fact]
    public async Task then_a_wal_a_reader_made_grow_is_cut_back_to_the_limit_once_it_restarts()
    {
        var path = Path.Combine(folder.Path, "wal-limit", "events.db");
        const long limit = 256 << 10;
        await using var store = new SqliteEventStore(new SqliteEventStoreOptions(path) { WalSizeLimit = limit }, TimeProvider.System);
        var payload = new EventData("big.v1", new byte[16 << 10]);

        // A reader holding its snapshot keeps checkpoints from completing, as the projections do under load.
        await using (var reader = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=false"))
        {
            await reader.OpenAsync(Ct);
            await using var snapshot = await reader.BeginTransactionAsync(Ct);
            await using (var read = reader.CreateCommand())
            {
                read.CommandText = "SELECT COUNT(*) FROM events";
                await read.ExecuteScalarAsync(Ct);
            }
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
}
