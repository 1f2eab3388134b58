using System.Text;
using AgentStack.Access;
using Microsoft.Data.Sqlite;

namespace AgentStack.EventStore.Tests.Access;

public sealed class SqliteAccessStoreContract(SqliteDatabaseFolder<SqliteAccessStoreContract> folder)
    : AccessStoreContract, IClassFixture<SqliteDatabaseFolder<SqliteAccessStoreContract>>
{
    private string databasePath = "";

    // A fresh file per test rather than deleting one: pooled connections of the last test's stores may
    // still hold the old file open, and the pool would hand them back for the same path.
    protected override Task ResetAsync()
    {
        databasePath = Path.Combine(folder.Path, $"access-{Guid.NewGuid():N}.db");
        return Task.CompletedTask;
    }

    protected override IAccessStore CreateStore(TimeProvider clock, string? pepper = null) => new SqliteAccessStore(databasePath, clock, pepper);

    protected override async Task<string> ReadStoredKeysAsync()
    {
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = false }.ToString());
        await connection.OpenAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT * FROM api_keys";
        await using var reader = await command.ExecuteReaderAsync(Ct);
        var text = new StringBuilder();
        while (await reader.ReadAsync(Ct))
            for (var i = 0; i < reader.FieldCount; i++)
                text.Append(await reader.IsDBNullAsync(i, Ct) ? "" : reader.GetValue(i).ToString()).Append('|');
        return text.ToString();
    }
}
