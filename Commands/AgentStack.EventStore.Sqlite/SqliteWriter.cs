using AgentStack.EventStore.Common;
using AgentStack.Events;
using Microsoft.Data.Sqlite;

namespace AgentStack.EventStore.Sqlite;

/// <summary>
/// The one connection that writes, with its statements prepared once and reused by every batch:
/// SQLite allows a single writer anyway, and keeping it single in-process is what orders positions.
/// </summary>
internal sealed class SqliteWriter : IDisposable
{
    private readonly SqliteCommand selectHead;
    private readonly SqliteParameter headStream;
    private readonly SqliteCommand insert;
    private readonly SqliteParameter insertStream, insertVersion, insertType, insertRecordedAt,
        insertData, insertHash, insertPrevHash;

    // The busy timeout Open set, which Restart puts back after its own shorter wait.
    private readonly long busyTimeoutMilliseconds;

    private SqliteWriter(SqliteConnection connection, long busyTimeoutMilliseconds)
    {
        Connection = connection;
        this.busyTimeoutMilliseconds = busyTimeoutMilliseconds;

        selectHead = connection.CreateCommand();
        selectHead.CommandText = SqliteSchema.SelectHead;
        headStream = selectHead.Parameters.Add("$stream", SqliteType.Text);
        selectHead.Prepare();

        insert = connection.CreateCommand();
        insert.CommandText = SqliteSchema.Insert;
        insertStream = insert.Parameters.Add("$stream", SqliteType.Text);
        insertVersion = insert.Parameters.Add("$version", SqliteType.Integer);
        insertType = insert.Parameters.Add("$type", SqliteType.Text);
        insertRecordedAt = insert.Parameters.Add("$recorded_at", SqliteType.Integer);
        insertData = insert.Parameters.Add("$data", SqliteType.Blob);
        insertHash = insert.Parameters.Add("$hash", SqliteType.Text);
        insertPrevHash = insert.Parameters.Add("$prev_hash", SqliteType.Text);
        insert.Prepare();
    }

    public SqliteConnection Connection { get; }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "PRAGMA takes no parameters: page_size, busy_timeout and journal_size_limit are numbers of the options")]
    public static SqliteWriter Open(string connectionString, SqliteEventStoreOptions options)
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            using (var pragmas = connection.CreateCommand())
            {
                // page_size first: it only takes on a file that has no page yet, and journal_mode=WAL writes the first.
                // A sealed span event is about 2 KB; in 4 KB pages each took one of its own (docs/event-store.md, "Pages").
                // synchronous=FULL: in WAL mode NORMAL may lose the last commits on power loss;
                // FULL fsyncs the WAL on every commit, which invariant 1 (a 2xx is durable) needs.
                // journal_size_limit: under a sustained load the readers (projections, stream reads) always hold a
                // snapshot, so checkpoints rarely complete and the WAL runs on for a gigabyte or more before it restarts;
                // SQLite keeps the file at its largest unless told to cut it back when it restarts.
                // temp_store=MEMORY: a statement journal SQLite keeps to undo a statement that fails halfway is a
                // memory buffer, not a temp file written a page at a time (a journal no recovery ever reads).
                pragmas.CommandText = $"""
                    PRAGMA page_size = {options.PageSize};
                    PRAGMA journal_mode = WAL;
                    PRAGMA synchronous = FULL;
                    PRAGMA temp_store = MEMORY;
                    PRAGMA cache_size = -65536;
                    PRAGMA journal_size_limit = {options.WalSizeLimit};
                    PRAGMA busy_timeout = {(long)options.BusyTimeout.TotalMilliseconds};
                    """;
                pragmas.ExecuteNonQuery();
            }
            using (var schema = connection.CreateCommand())
            {
                schema.CommandText = SqliteSchema.Create;
                schema.ExecuteNonQuery();
            }
            return new SqliteWriter(connection, (long)options.BusyTimeout.TotalMilliseconds);
        }
        catch
        {
            SqliteConnection.ClearPool(connection);
            connection.Dispose();
            throw;
        }
    }

    /// <summary>BEGIN IMMEDIATE: takes the write lock up front, so a competing process fails the batch at once, not halfway.</summary>
    public SqliteTransaction Begin()
    {
        var transaction = Connection.BeginTransaction(deferred: false);
        selectHead.Transaction = transaction;
        insert.Transaction = transaction;
        return transaction;
    }

    /// <summary>
    /// A RESTART checkpoint between two groups: copies what the WAL holds beyond the last passive checkpoint and waits
    /// up to <paramref name="wait"/> for the readers of older snapshots, so the next commit starts the WAL from its
    /// beginning (cut back to <c>journal_size_limit</c>). False when a reader outlasted the wait: the WAL runs on until
    /// the next try. The writer's own busy timeout is set again afterwards.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "PRAGMA takes no parameters: both waits are numbers")]
    public bool Restart(TimeSpan wait)
    {
        using var command = Connection.CreateCommand();
        command.CommandText = $"PRAGMA busy_timeout = {(long)wait.TotalMilliseconds}";
        command.ExecuteNonQuery();
        try
        {
            command.CommandText = "PRAGMA wal_checkpoint(RESTART)";
            return (long)command.ExecuteScalar()! == 0; // the first column: 1 when a reader outlasted the wait
        }
        finally
        {
            command.CommandText = $"PRAGMA busy_timeout = {busyTimeoutMilliseconds}";
            command.ExecuteNonQuery();
        }
    }

    public long ReadLastPosition()
    {
        using var command = Connection.CreateCommand();
        command.CommandText = SqliteSchema.SelectLastPosition;
        return (long)command.ExecuteScalar()!;
    }

    public StreamHead ReadHead(string stream)
    {
        headStream.Value = stream;
        using var reader = selectHead.ExecuteReader();
        return reader.Read() ? new StreamHead(reader.GetInt64(0), reader.GetString(1)) : StreamHead.Empty;
    }

    public long Insert(string stream, long version, string type, long recordedAtMicroseconds, byte[] data,
        string hash, string prevHash)
    {
        insertStream.Value = stream;
        insertVersion.Value = version;
        insertType.Value = type;
        insertRecordedAt.Value = recordedAtMicroseconds;
        insertData.Value = data;
        insertHash.Value = hash;
        insertPrevHash.Value = prevHash;
        return (long)insert.ExecuteScalar()!;
    }

    public void Dispose()
    {
        selectHead.Dispose();
        insert.Dispose();
        Connection.Dispose();
    }

    /// <summary>After a failure the connection's state is unknown: close it for good rather than pool it.</summary>
    public void Discard()
    {
        SqliteConnection.ClearPool(Connection);
        Dispose();
    }
}
