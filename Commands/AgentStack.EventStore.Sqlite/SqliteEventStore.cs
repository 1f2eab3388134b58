using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using AgentStack.EventStore.Common;
using AgentStack.Events;
using Microsoft.Data.Sqlite;

[assembly: InternalsVisibleTo("AgentStack.EventStore.Tests")]

namespace AgentStack.EventStore.Sqlite;

/// <summary>
/// The embedded event store: one SQLite file in WAL mode. Appends from every caller go through one
/// writer loop (<see cref="GroupCommitQueue"/>) that commits them in groups, one transaction and one
/// fsync per group, so throughput scales with concurrency instead of paying an fsync per request. Reads
/// use pooled read-only connections, which WAL lets run beside the writer's transaction.
/// </summary>
public sealed class SqliteEventStore : IEventStore, IDecodingLogReader, ICommittedEventsSource, IAsyncDisposable
{
    private const int ReadPageSize = 256;

    /// <summary>How long the writer waits, between two groups, for the readers of older snapshots to let the WAL restart.</summary>
    private static readonly TimeSpan RestartWait = TimeSpan.FromMilliseconds(100);

    private static readonly GroupCommitMetrics Metrics = new("AgentStack.EventStore.Sqlite",
        commitsDescription: "Group commits (transactions fsync'd) of the SQLite event store.",
        eventsDescription: "Events durably appended to the SQLite event store.");

    private readonly SqliteEventStoreOptions options;
    private readonly string writeConnectionString;
    private readonly string readConnectionString;
    private readonly GroupCommitQueue queue;
    private readonly SqliteCheckpointer checkpointer;
    private readonly string walPath;
    private readonly LogReadGate readers = new();

    // The WAL's size past which the writer next tries to restart it: after a reader outlasted a try (a long read, a
    // rebuild), not before the WAL has grown by RetryBytes again, so such a reader costs the writer a wait every few
    // megabytes, not one a group.
    private long restartAt;

    // Owned by the writer loop only; null after a failure until the next batch reopens it.
    private SqliteWriter? writer;
    private int disposed;

    public SqliteEventStore(SqliteEventStoreOptions options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.DatabasePath);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxBatchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxBatchBytes);
        ArgumentOutOfRangeException.ThrowIfNegative(options.WriterPriority);
        ArgumentOutOfRangeException.ThrowIfNegative(options.WalKeptSize);
        ArgumentOutOfRangeException.ThrowIfNegative(options.WalRestartSize);
        if (options.CachedTail is { } cachedTail)
            ArgumentOutOfRangeException.ThrowIfNegative(cachedTail, nameof(options.CachedTail));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.WriterPriority, GroupCommitQueue.MaxWriterPriority);
        if (!SqliteEventStoreOptions.IsPageSize(options.PageSize))
            throw new ArgumentOutOfRangeException(nameof(options), options.PageSize,
                $"The page size must be a power of two from {SqliteEventStoreOptions.MinPageSize} to {SqliteEventStoreOptions.MaxPageSize} bytes.");

        this.options = options;
        var path = Path.GetFullPath(options.DatabasePath);
        walPath = path + "-wal";
        restartAt = RestartBytes;
        if (Path.GetDirectoryName(path) is { } directory) Directory.CreateDirectory(directory);

        // Microsoft.Data.Sqlite retries busy errors itself until the command timeout (whole seconds),
        // on top of SQLite's busy_timeout: keep both at the configured bound.
        var timeoutSeconds = Math.Max(1, (int)Math.Ceiling(options.BusyTimeout.TotalSeconds));
        writeConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = true, DefaultTimeout = timeoutSeconds,
        }.ToString();
        readConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = true, DefaultTimeout = timeoutSeconds,
        }.ToString();

        // The schema is created here, when the container first resolves the store, so a bad path or an
        // unreadable file stops the host at start-up instead of failing every request later.
        writer = SqliteWriter.Open(writeConnectionString, options);
        var lastPosition = writer.ReadLastPosition();
        queue = new GroupCommitQueue(options.MaxBatchSize, options.MaxBatchBytes, timeProvider, Metrics, BeginBatch, onFailure: DiscardWriter,
            writerPriority: options.WriterPriority);
        queue.Publish(lastPosition);
        checkpointer = new SqliteCheckpointer(writeConnectionString, path, queue, options.WriterPriority, options.CachedTail);
    }

    /// <summary>Transactions committed by this instance: a diagnostic that group commit is happening.</summary>
    internal long CommitCount => queue.CommitCount;

    /// <summary>WAL restarts the writer asked for past the WAL's limit, and those a reader outlasted: diagnostics.</summary>
    internal (long Done, long Refused) WalRestarts => (Interlocked.Read(ref walRestarts), Interlocked.Read(ref walRestartsRefused));

    private long walRestarts, walRestartsRefused;

    /// <summary>Checkpoints the checkpointer thread ran, and those that failed: diagnostics.</summary>
    internal (long Done, long Failed) Checkpoints => checkpointer.Checkpoints;

    /// <summary>
    /// The writer connection's <c>wal_autocheckpoint</c> in pages, as SQLite reports it (null while no connection is
    /// open): a diagnostic for a store with no append in flight, since the connection is the writer thread's.
    /// </summary>
    internal long? WriterAutoCheckpointPages => writer?.ReadAutoCheckpointPages();

    /// <summary>The writer thread's nice value (null off Linux).</summary>
    internal int? WriterNice => queue.WriterNice;

    /// <summary>How far from events.db's start the checkpointer has dropped its pages from the page cache: a diagnostic.</summary>
    internal long PageCacheDroppedTo => checkpointer.PageCacheDroppedTo;

    /// <summary>The checkpointer thread's nice value (null off Linux).</summary>
    internal int? CheckpointerNice => checkpointer.Nice;

    public Task<AppendResult> AppendAsync(IReadOnlyList<StreamAppend> appends, CancellationToken cancellationToken) =>
        queue.AppendAsync(appends, cancellationToken);

    public void OnCommitted(Action<IReadOnlyList<StoredEvent>> committed) => queue.OnCommitted(committed);

    public async IAsyncEnumerable<StoredEvent> ReadStreamAsync(string stream, long fromVersion,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        // Paged, each page its own short read transaction: a slow consumer (a replay streamed to a
        // browser) must not pin a WAL snapshot, which would stop checkpoints and grow the WAL unbounded.
        var from = Math.Max(fromVersion, 1);
        while (true)
        {
            var page = await QueryAsync(SqliteSchema.SelectStream, parameters =>
            {
                parameters.AddWithValue("$stream", stream);
                parameters.AddWithValue("$from", from);
                parameters.AddWithValue("$limit", ReadPageSize);
            }, ReadPageSize, cancellationToken);
            foreach (var e in page) yield return e;
            if (page.Count < ReadPageSize) yield break;
            from = page[^1].Version + 1;
        }
    }

    public async Task<long[]> ReadStreamVersionsAsync(IReadOnlyList<string> streams, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(streams);
        if (streams.Count == 0) return [];
        try
        {
            await using var connection = new SqliteConnection(readConnectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = SqliteSchema.SelectVersions;
            command.Parameters.AddWithValue("$streams", JsonSerializer.Serialize(streams, StreamNames.Default.IReadOnlyListString));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await StreamVersions.InOrderAsync(reader, streams, cancellationToken);
        }
        catch (SqliteException e)
        {
            throw new EventStoreUnavailableException("The event store could not be read.", e);
        }
    }

    public Task<IReadOnlyList<StoredEvent>> ReadAllAsync(long afterPosition, int maxCount,
        CancellationToken cancellationToken) =>
        ReadAllAsync(afterPosition, maxCount, EventDataScope.All, cancellationToken);

    public Task<IReadOnlyList<StoredEvent>> ReadAllAsync(long afterPosition, int maxCount, EventDataScope data,
        CancellationToken cancellationToken) =>
        ReadAllAsync(afterPosition, maxCount, data, CopyData, cancellationToken);

    private static readonly StoredDataDecoder CopyData = (_, stored) => stored.ToArray();

    public async Task<IReadOnlyList<StoredEvent>> ReadAllAsync(long afterPosition, int maxCount, EventDataScope data,
        StoredDataDecoder decode, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxCount);
        if (maxCount == 0) return [];
        try
        {
            await using var connection = new SqliteConnection(readConnectionString);
            await connection.OpenAsync(cancellationToken);
            return SqliteLogReader.Read(connection, SqliteSchema.SelectAllWith(data), afterPosition, maxCount,
                options.BusyTimeout, decode, readers, cancellationToken);
        }
        catch (SqliteException e)
        {
            throw new EventStoreUnavailableException("The event store could not be read.", e);
        }
    }

    // One process writes the file, so this instance's own commits are all there is to wait for.
    public Task WaitForEventsAfterAsync(long afterPosition, CancellationToken cancellationToken) =>
        queue.WaitForPositionAfterAsync(afterPosition, cancellationToken);

    public async Task<long> GetLastPositionAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = new SqliteConnection(readConnectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = SqliteSchema.SelectLastPosition;
            return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
        }
        catch (SqliteException e)
        {
            throw new EventStoreUnavailableException("The event store could not be read.", e);
        }
    }

    /// <summary>Stops accepting appends, commits those already queued, then closes the file.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 1) return;
        await queue.DisposeAsync();
        checkpointer.Dispose();
        writer?.Dispose();
        writer = null;
        // Pooled connections would otherwise keep the file (and its WAL) open after the store is gone.
        using var write = new SqliteConnection(writeConnectionString);
        SqliteConnection.ClearPool(write);
        using var read = new SqliteConnection(readConnectionString);
        SqliteConnection.ClearPool(read);
    }

    private ValueTask<IGroupCommitTransaction> BeginBatch(IEnumerable<StreamAppend> appends)
    {
        writer ??= SqliteWriter.Open(writeConnectionString, options);
        // Under load some reader always holds a snapshot, and SQLite's own checkpoints, each run right after a commit,
        // seldom copy the whole WAL back, which it needs to restart: it ran past a gigabyte in a minute. Past
        // WalRestartSize the writer checkpoints it whole between two groups, waiting a moment for the readers of older
        // snapshots (docs/event-store.md, "The WAL's size").
        if (new FileInfo(walPath) is { Exists: true } wal && wal.Length > restartAt)
        {
            bool restarted;
            using (readers.Close(RestartWait))
                restarted = writer.Restart(RestartWait);
            restartAt = restarted ? RestartBytes : wal.Length + RetryBytes;
            Interlocked.Increment(ref restarted ? ref walRestarts : ref walRestartsRefused);
        }
        return ValueTask.FromResult<IGroupCommitTransaction>(new Batch(writer, writer.Begin(), queue.LastPosition));
    }

    /// <summary>The WAL's size past which the writer restarts it, at least 1 MiB (a smaller one would restart it after nearly every group).</summary>
    private long RestartBytes => Math.Max(options.WalRestartSize, 1L << 20);

    /// <summary>
    /// How much more the WAL grows before the writer tries again after a reader outlasted a try: an eighth of
    /// <see cref="RestartBytes"/>, at least 1 MiB. Under load most tries are refused (BENCHMARKS.md, "The WAL's size").
    /// </summary>
    private long RetryBytes => Math.Max(RestartBytes / 8, 1L << 20);

    /// <summary>After a failed batch the writer's connection is in an unknown state: the next batch opens a new one.</summary>
    private void DiscardWriter()
    {
        writer?.Discard();
        writer = null;
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "callers pass the constant SQL of this class; every value is bound as a parameter")]
    private async Task<List<StoredEvent>> QueryAsync(string sql, Action<SqliteParameterCollection> bind,
        int capacity, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = new SqliteConnection(readConnectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            bind(command.Parameters);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var events = new List<StoredEvent>(capacity);
            while (await reader.ReadAsync(cancellationToken))
            {
                events.Add(ToStoredEvent(reader));
            }
            return events;
        }
        catch (SqliteException e)
        {
            throw new EventStoreUnavailableException("The event store could not be read.", e);
        }
    }

    // Synchronous on purpose: the row is already in memory once ReadAsync returned, and an async
    // column read per event would only add state machines to a hot read path.
    private static StoredEvent ToStoredEvent(SqliteDataReader reader) => new(
        Position: reader.GetInt64(0),
        Stream: reader.GetString(1),
        Version: reader.GetInt64(2),
        Type: reader.GetString(3),
        RecordedAt: EventHash.FromUnixMicroseconds(reader.GetInt64(4)),
        Data: reader.GetFieldValue<byte[]>(5),
        Hash: reader.GetString(6),
        PrevHash: reader.GetString(7));

    /// <summary>A group's transaction on the writer's connection: the rows are inserted as the calls are applied.</summary>
    private sealed class Batch(SqliteWriter writer, SqliteTransaction transaction, long startPosition) : IGroupCommitTransaction
    {
        public long StartPosition { get; } = startPosition;

        // The latest version and hash of a stream come from the UNIQUE(stream, version) index, one
        // descending seek, rather than a streams table: such a table would be a second, mutable copy
        // of the log's truth, updated on every append, in a file whose events are append-only.
        public StreamHead ReadHead(string stream) => writer.ReadHead(stream);

        public long Insert(string stream, long version, string type, DateTimeOffset recordedAt, byte[] data,
            string hash, string prevHash) =>
            writer.Insert(stream, version, type, EventHash.ToUnixMicroseconds(recordedAt), data, hash, prevHash);

        public ValueTask<bool> CommitAsync()
        {
            transaction.Commit();
            return ValueTask.FromResult(true);
        }

        public ValueTask DisposeAsync()
        {
            transaction.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>Stream names as the JSON array <see cref="SqliteSchema.SelectVersions"/> reads, without reflection.</summary>
[JsonSerializable(typeof(IReadOnlyList<string>))]
internal sealed partial class StreamNames : JsonSerializerContext;
