using AgentStack.Events;
using Microsoft.Data.Sqlite;

namespace AgentStack.EventStore.Sqlite;

/// <summary>
/// An <c>events.db</c> opened to be read and never written, as the command line checks a data directory, a live one or
/// a copy (docs/audit.md, command line): no writer, no checkpointer, no schema, read-only
/// connections. The store's own read-only connections would still make a WAL file and its index beside a file that had
/// none, and cannot open such a file in a directory they cannot write: without a WAL the file is opened
/// <c>immutable</c> (SQLite's URI parameter), as there is no WAL to read and no writer keeps one.
/// With a WAL (a server running, or a copy of a live directory) its commits are read through it, and SQLite makes the
/// index (<c>-shm</c>) only if it is missing (SQLite's read-only WAL access).
/// </summary>
public sealed class ReadOnlySqliteEventStore : IEventStore, IDecodingLogReader, IAsyncDisposable
{
    private readonly SqliteEventReads reads;

    /// <summary>Opens <paramref name="databasePath"/>; a file that is missing or is not an event store throws <see cref="SqliteException"/>.</summary>
    public ReadOnlySqliteEventStore(string databasePath, TimeSpan busyTimeout)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(databasePath);
        reads = new SqliteEventReads(ReadOnlyConnectionString(databasePath, busyTimeout), busyTimeout);
        try
        {
            // Read once here, so a file that is no event store is refused when it is opened, not at the first read.
            using var connection = new SqliteConnection(reads.ConnectionString);
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = SqliteSchema.SelectLastPosition;
            command.ExecuteScalar();
        }
        catch
        {
            reads.ClearPool();
            throw;
        }
    }

    /// <summary>
    /// A connection string that reads the SQLite file at <paramref name="path"/> and writes nothing beside it: read-only,
    /// and <c>immutable</c> when the file has no WAL (see the class). For the other files of a data directory as well.
    /// </summary>
    public static string ReadOnlyConnectionString(string path, TimeSpan busyTimeout)
    {
        path = Path.GetFullPath(path);
        return new SqliteConnectionStringBuilder
        {
            DataSource = File.Exists(path + "-wal") ? path : ImmutableUri(path),
            Mode = SqliteOpenMode.ReadOnly, Pooling = true,
            DefaultTimeout = Math.Max(1, (int)Math.Ceiling(busyTimeout.TotalSeconds)),
        }.ToString();
    }

    // SQLite decodes %HH in a URI's path; the characters that would end the path or start an escape are escaped.
    private static string ImmutableUri(string path) =>
        "file:" + path.Replace("%", "%25", StringComparison.Ordinal).Replace("?", "%3f", StringComparison.Ordinal)
            .Replace("#", "%23", StringComparison.Ordinal) + "?immutable=1";

    public Task<AppendResult> AppendAsync(IReadOnlyList<StreamAppend> appends, CancellationToken cancellationToken) =>
        throw new NotSupportedException("The event store is open read-only.");

    public IAsyncEnumerable<StoredEvent> ReadStreamAsync(string stream, long fromVersion, CancellationToken cancellationToken) =>
        reads.ReadStreamAsync(stream, fromVersion, cancellationToken);

    public Task<long[]> ReadStreamVersionsAsync(IReadOnlyList<string> streams, CancellationToken cancellationToken) =>
        reads.ReadStreamVersionsAsync(streams, cancellationToken);

    public Task<IReadOnlyList<StoredEvent>> ReadAllAsync(long afterPosition, int maxCount, CancellationToken cancellationToken) =>
        ReadAllAsync(afterPosition, maxCount, EventDataScope.All, cancellationToken);

    public Task<IReadOnlyList<StoredEvent>> ReadAllAsync(long afterPosition, int maxCount, EventDataScope data,
        CancellationToken cancellationToken) =>
        reads.ReadAllAsync(afterPosition, maxCount, data, SqliteEventReads.CopyData, cancellationToken);

    public Task<IReadOnlyList<StoredEvent>> ReadAllAsync(long afterPosition, int maxCount, EventDataScope data,
        StoredDataDecoder decode, CancellationToken cancellationToken) =>
        reads.ReadAllAsync(afterPosition, maxCount, data, decode, cancellationToken);

    /// <summary>No append comes through this store: a wait for one would never end.</summary>
    public Task WaitForEventsAfterAsync(long afterPosition, CancellationToken cancellationToken) =>
        throw new NotSupportedException("The event store is open read-only.");

    public Task<long> GetLastPositionAsync(CancellationToken cancellationToken) => reads.GetLastPositionAsync(cancellationToken);

    public ValueTask DisposeAsync()
    {
        reads.ClearPool();
        return ValueTask.CompletedTask;
    }
}
