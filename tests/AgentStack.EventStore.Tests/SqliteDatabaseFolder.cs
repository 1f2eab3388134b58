using AgentStack.EventStore.Sqlite;
using Microsoft.Data.Sqlite;

namespace AgentStack.EventStore.Tests;

/// <summary>
/// A temp folder of its own for each test class, emptied when the class starts (not when it ends,
/// so a failed run's database is still there to open).
/// </summary>
public sealed class SqliteDatabaseFolder<TTestClass>
{
    public SqliteDatabaseFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "agentstack-tests", "eventstore", typeof(TTestClass).Name);
        if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string DatabasePath => System.IO.Path.Combine(Path, "events.db");

    public SqliteEventStore OpenStore(TimeProvider? timeProvider = null, TimeSpan? busyTimeout = null) =>
        new(new SqliteEventStoreOptions(DatabasePath) { BusyTimeout = busyTimeout ?? TimeSpan.FromSeconds(5) },
            timeProvider ?? TimeProvider.System);

    /// <summary>A connection outside the store, as an operator with the sqlite3 shell would have.</summary>
    public SqliteConnection OpenRawConnection()
    {
        var connection = new SqliteConnection(
            new SqliteConnectionStringBuilder { DataSource = DatabasePath, Pooling = false, DefaultTimeout = 1 }.ToString());
        connection.Open();
        return connection;
    }
}
