using AgentStack.EventStore.Common;
using AgentStack.Events;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace AgentStack.EventStore.Sqlite;

/// <summary>
/// The one connection that writes, with its statements prepared once and reused by every batch:
/// SQLite allows a single writer anyway, and keeping it single in-process is what orders positions.
/// The insert, run once per event on the log's one serial thread, is SQLite's own statement on the connection's
/// handle: through ADO.NET each execution made a reader, a binder per parameter and a boxed position, about 1.5 KB
/// a row and a tenth of what the server allocated at peak (docs/event-store.md, "The insert").
/// </summary>
internal sealed class SqliteWriter : IDisposable
{
    private readonly SqliteCommand selectHead;
    private readonly SqliteParameter headStream;
    private readonly sqlite3_stmt insert;

    // UTF-8 of the insert's texts (stream, type, hashes), bound from here: SQLite copies a bound text at once.
    private byte[] text = new byte[256];

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

        Check(raw.sqlite3_prepare_v3(connection.Handle, SqliteSchema.Insert, raw.SQLITE_PREPARE_PERSISTENT, out insert));
    }

    private void Check(int resultCode)
    {
        if (resultCode is not (raw.SQLITE_OK or raw.SQLITE_DONE))
            SqliteException.ThrowExceptionForRC(resultCode, Connection.Handle);
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
                // wal_autocheckpoint=0: the WAL is copied back into the file by SqliteCheckpointer's thread, not by the
                // commit (docs/event-store.md, "Checkpoints off the writer").
                // temp_store=MEMORY: a statement journal SQLite keeps to undo a statement that fails halfway is a
                // memory buffer, not a temp file written a page at a time (a journal no recovery ever reads).
                pragmas.CommandText = $"""
                    PRAGMA page_size = {options.PageSize};
                    PRAGMA journal_mode = WAL;
                    PRAGMA synchronous = FULL;
                    PRAGMA temp_store = MEMORY;
                    PRAGMA cache_size = -65536;
                    PRAGMA journal_size_limit = {options.WalKeptSize};
                    PRAGMA wal_autocheckpoint = 0;
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

    /// <summary>The connection's <c>wal_autocheckpoint</c>, in pages (0: its commits never checkpoint): a diagnostic.</summary>
    public long ReadAutoCheckpointPages()
    {
        using var command = Connection.CreateCommand();
        command.CommandText = "PRAGMA wal_autocheckpoint";
        return (long)command.ExecuteScalar()!;
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

    /// <summary>Inserts one event in the open transaction (<see cref="Begin"/>) and returns its position.</summary>
    public long Insert(string stream, long version, string type, long recordedAtMicroseconds, byte[] data,
        string hash, string prevHash)
    {
        try
        {
            BindText(1, stream);
            Check(raw.sqlite3_bind_int64(insert, 2, version));
            BindText(3, type);
            Check(raw.sqlite3_bind_int64(insert, 4, recordedAtMicroseconds));
            Check(raw.sqlite3_bind_blob(insert, 5, data));
            BindText(6, hash);
            BindText(7, prevHash);
            Check(raw.sqlite3_step(insert));
            return raw.sqlite3_last_insert_rowid(Connection.Handle);
        }
        finally
        {
            raw.sqlite3_reset(insert);
        }
    }

    private void BindText(int index, string value)
    {
        var length = System.Text.Encoding.UTF8.GetMaxByteCount(value.Length);
        if (length > text.Length)
            text = new byte[Math.Max(length, text.Length * 2)];
        var written = System.Text.Encoding.UTF8.GetBytes(value, text);
        Check(raw.sqlite3_bind_text(insert, index, text.AsSpan(0, written)));
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
