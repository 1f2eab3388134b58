using AgentStack.Testing;
using Microsoft.Data.Sqlite;

namespace AgentStack.EndToEndTests.Operating;

/// <summary>
/// <c>AgentStack:EventStore:PageSize</c> (docs/event-store.md, "Pages"): the page size a new events.db is created with;
/// a value SQLite would not take stops the server at start with the key to fix, not a silent 4 KB file.
/// </summary>
public sealed class when_the_event_store_pages_are_configured
{
    [Fact]
    public async Task then_a_new_log_is_created_with_them()
    {
        await using var server = await ServerProcess.StartAsync(new() { ["AgentStack__EventStore__PageSize"] = "16384" });
        await server.StopAsync();

        await using var connection = new SqliteConnection(
            $"Data Source={Path.Combine(server.DataDirectory, "events.db")};Mode=ReadOnly;Pooling=false");
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA page_size";
        ((long)(await command.ExecuteScalarAsync(TestContext.Current.CancellationToken))!).ShouldBe(16384);
    }

    [Fact]
    public async Task then_a_size_sqlite_would_not_take_is_named_at_start()
    {
        var failed = await Should.ThrowAsync<InvalidOperationException>(() => ServerProcess.StartAsync(new()
        {
            ["AgentStack__EventStore__PageSize"] = "10000",
        }));

        failed.Message.ShouldContain("AgentStack:EventStore:PageSize is '10000': use a power of two from 4096 to 65536 (bytes).");
    }
}
