using Microsoft.Data.Sqlite;

namespace AgentStack.EventStore.Tests.Sqlite;

/// <summary>
/// A reader in the middle of a read of events.db, holding its snapshot until disposed, as a projection runner does
/// mid-batch under load: no checkpoint can copy the WAL past it, and the WAL cannot restart.
/// </summary>
internal sealed class HeldSnapshot : IAsyncDisposable
{
    private readonly SqliteConnection connection;
    private readonly SqliteTransaction transaction;

    private HeldSnapshot(SqliteConnection connection, SqliteTransaction transaction) =>
        (this.connection, this.transaction) = (connection, transaction);

    public static async Task<HeldSnapshot> OpenAsync(string databasePath, CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection($"Data Source={databasePath};Mode=ReadOnly;Pooling=false");
        await connection.OpenAsync(cancellationToken);
        var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await using (var read = connection.CreateCommand())
        {
            read.Transaction = transaction;
            read.CommandText = "SELECT COUNT(*) FROM events"; // a read transaction takes its snapshot at its first read
            await read.ExecuteScalarAsync(cancellationToken);
        }
        return new HeldSnapshot(connection, transaction);
    }

    public async ValueTask DisposeAsync()
    {
        await transaction.DisposeAsync();
        await connection.DisposeAsync();
    }
}
