using System.Runtime.CompilerServices;
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
    /// <summary>How long the writer waits, between two groups, for the readers of older snapshots to let the WAL restart.</summary>
    private static readonly TimeSpan RestartWait = TimeSpan.FromMilliseconds(100);

    private static readonly GroupCommitMetrics Metrics = new("AgentStack.EventStore.Sqlite",
        commitsDescription: "Group commits (transactions fsync'd) of the SQLite event store.",
        eventsDescription: "Events durably appended to the SQLite event store.");

    private readonly SqliteEventStoreOptions options;
    private readonly string writeConnectionString;
    private readonly SqliteEventReads reads;
    private readonly GroupCommitQueue queue;
    private readonly SqliteCheckpointer checkpointer;
    private readonly string walPath;

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
        reads = new SqliteEventReads(new SqliteConnectionStringBuilder
        {
            DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = true, DefaultTimeout = timeoutSeconds,
        }.ToString(), options.BusyTimeout);

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

    public IAsyncEnumerable<StoredEvent> ReadStreamAsync(string stream, long fromVersion, CancellationToken cancellationToken) =>
        reads.ReadStreamAsync(stream, fromVersion, cancellationToken);

    public Task<long[]> ReadStreamVersionsAsync(IReadOnlyList<string> streams, CancellationToken cancellationToken) =>
        reads.ReadStreamVersionsAsync(streams, cancellationToken);

    public Task<IReadOnlyList<StoredEvent>> ReadAllAsync(long afterPosition, int maxCount,
        CancellationToken cancellationToken) =>
        ReadAllAsync(afterPosition, maxCount, EventDataScope.All, cancellationToken);

    public Task<IReadOnlyList<StoredEvent>> ReadAllAsync(long afterPosition, int maxCount, EventDataScope data,
        CancellationToken cancellationToken) =>
        reads.ReadAllAsync(afterPosition, maxCount, data, SqliteEventReads.CopyData, cancellationToken);

    public Task<IReadOnlyList<StoredEvent>> ReadAllAsync(long afterPosition, int maxCount, EventDataScope data,
        StoredDataDecoder decode, CancellationToken cancellationToken) =>
        reads.ReadAllAsync(afterPosition, maxCount, data, decode, cancellationToken);

    // One process writes the file, so this instance's own commits are all there is to wait for.
    public Task WaitForEventsAfterAsync(long afterPosition, CancellationToken cancellationToken) =>
        queue.WaitForPositionAfterAsync(afterPosition, cancellationToken);

    public Task<long> GetLastPositionAsync(CancellationToken cancellationToken) => reads.GetLastPositionAsync(cancellationToken);

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
        reads.ClearPool();
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
            using (reads.Gate.Close(RestartWait))
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
