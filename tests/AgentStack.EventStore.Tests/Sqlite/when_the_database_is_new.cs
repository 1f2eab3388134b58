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
        using var writer = SqliteWriter.Open($"Data Source={Path.Combine(folder.Path, "pragmas.db")};Pooling=false", TimeSpan.FromSeconds(1));
        using var command = writer.Connection.CreateCommand();

        command.CommandText = "PRAGMA synchronous";
        ((long)command.ExecuteScalar()!).ShouldBe(2); // FULL
        command.CommandText = "PRAGMA temp_store";
        ((long)command.ExecuteScalar()!).ShouldBe(2); // MEMORY
        command.CommandText = "PRAGMA cache_size";
        ((long)command.ExecuteScalar()!).ShouldBe(-65536); // 64 MiB: a group's pages stay in memory until its commit
    }
}
