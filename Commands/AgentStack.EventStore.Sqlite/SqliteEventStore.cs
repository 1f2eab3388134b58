using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using AgentStack.Events;
using Microsoft.Data.Sqlite;

[assembly: InternalsVisibleTo("AgentStack.EventStore.Tests")]

namespace AgentStack.EventStore.Sqlite;

/// <summary>
/// The embedded event store: one SQLite file in WAL mode. Appends from every caller go through one
/// writer loop that commits them in groups, one transaction and one fsync per group, so throughput
/// scales with concurrency instead of paying an fsync per request. Reads use pooled read-only
/// connections, which WAL lets run beside the writer's transaction.
/// </summary>
public sealed class SqliteEventStore : IEventStore, IAsyncDisposable
{
    private const int ReadPageSize = 256;
    private const string RequestSavepoint = "append";

    private static readonly Meter Meter = new("AgentStack.EventStore.Sqlite");
    private static readonly Counter<long> CommitsCounter = Meter.CreateCounter<long>(
        "agentstack.eventstore.commits", description: "Group commits (transactions fsync'd) of the SQLite event store.");
    private static readonly Counter<long> EventsCounter = Meter.CreateCounter<long>(
        "agentstack.eventstore.events_appended", description: "Events durably appended to the SQLite event store.");
    private static readonly Histogram<int> BatchSize = Meter.CreateHistogram<int>(
        "agentstack.eventstore.batch_size", description: "Append calls sharing one group commit.");

    private readonly SqliteEventStoreOptions options;
    private readonly TimeProvider timeProvider;
    private readonly string writeConnectionString;
    private readonly string readConnectionString;
    private readonly Channel<PendingAppend> pending = Channel.CreateUnbounded<PendingAppend>(
        new UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = false });
    private readonly Task writerLoop;

    // Owned by the writer loop only; null after a failure until the next batch reopens it.
    private SqliteWriter? writer;
    private long lastPosition;
    private long commitCount;
    private TaskCompletionSource committed = NewCommitSignal();
    private int disposed;

    public SqliteEventStore(SqliteEventStoreOptions options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.DatabasePath);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxBatchSize);

        this.options = options;
        this.timeProvider = timeProvider;
        var path = Path.GetFullPath(options.DatabasePath);
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
        writer = SqliteWriter.Open(writeConnectionString, options.BusyTimeout);
        lastPosition = writer.ReadLastPosition();
        writerLoop = Task.Run(RunWriterAsync);
    }

    /// <summary>Transactions committed by this instance: a diagnostic that group commit is happening.</summary>
    internal long CommitCount => Interlocked.Read(ref commitCount);

    public Task<AppendResult> AppendAsync(IReadOnlyList<StreamAppend> appends, CancellationToken cancellationToken)
    {
        Validate(appends);
        if (cancellationToken.IsCancellationRequested) return Task.FromCanceled<AppendResult>(cancellationToken);

        var request = new PendingAppend(appends, cancellationToken);
        if (!pending.Writer.TryWrite(request))
            return Task.FromException<AppendResult>(new EventStoreUnavailableException("The event store is shutting down."));
        // Deliberately not WaitAsync(cancellationToken): once a batch has started, the caller must learn
        // whether its events were committed, not a cancellation that hides a durable write.
        return request.Completion.Task;
    }

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

    public async Task<IReadOnlyList<StoredEvent>> ReadAllAsync(long afterPosition, int maxCount,
        CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxCount);
        if (maxCount == 0) return [];
        return await QueryAsync(SqliteSchema.SelectAll, parameters =>
        {
            parameters.AddWithValue("$after", afterPosition);
            parameters.AddWithValue("$limit", maxCount);
        }, Math.Min(maxCount, 1024), cancellationToken);
    }

    public async Task WaitForEventsAfterAsync(long afterPosition, CancellationToken cancellationToken)
    {
        while (true)
        {
            // Take the signal before reading the position: the writer publishes the position before it
            // swaps and completes the signal, so a commit between the two reads is never missed.
            var signal = Volatile.Read(ref committed);
            if (Volatile.Read(ref lastPosition) > afterPosition) return;
            await signal.Task.WaitAsync(cancellationToken);
        }
    }

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
        pending.Writer.TryComplete();
        await writerLoop;
        writer?.Dispose();
        writer = null;
        // Pooled connections would otherwise keep the file (and its WAL) open after the store is gone.
        using var write = new SqliteConnection(writeConnectionString);
        SqliteConnection.ClearPool(write);
        using var read = new SqliteConnection(readConnectionString);
        SqliteConnection.ClearPool(read);
    }

    private async Task RunWriterAsync()
    {
        var reader = pending.Reader;
        var batch = new List<PendingAppend>(options.MaxBatchSize);
        while (await reader.WaitToReadAsync())
        {
            while (batch.Count < options.MaxBatchSize && reader.TryRead(out var request))
            {
                if (request.CancellationToken.IsCancellationRequested)
                    request.Completion.TrySetCanceled(request.CancellationToken);
                else
                    batch.Add(request);
            }
            if (batch.Count > 0) WriteBatch(batch);
            batch.Clear();
        }
    }

    private void WriteBatch(List<PendingAppend> batch)
    {
        var outcomes = new object[batch.Count];
        long position;
        try
        {
            writer ??= SqliteWriter.Open(writeConnectionString, options.BusyTimeout);
            position = Volatile.Read(ref lastPosition);
            using var transaction = writer.Begin();
            // The latest version and hash of a stream come from the UNIQUE(stream, version) index, one
            // descending seek, rather than a streams table: such a table would be a second, mutable copy
            // of the log's truth, updated on every append, in a file whose events are append-only. The
            // dictionary only spares repeated seeks for streams appended to more than once in a batch.
            var heads = new Dictionary<string, StreamHead>(StringComparer.Ordinal);
            for (var i = 0; i < batch.Count; i++)
            {
                // A savepoint per call: a stale expected version rolls back that call alone, not the group.
                transaction.Save(RequestSavepoint);
                try
                {
                    outcomes[i] = Apply(writer, batch[i].Appends, heads, ref position);
                    transaction.Release(RequestSavepoint);
                }
                catch (WrongExpectedVersionException e)
                {
                    transaction.Rollback(RequestSavepoint);
                    transaction.Release(RequestSavepoint);
                    outcomes[i] = e;
                }
            }
            transaction.Commit();
        }
        catch (Exception e)
        {
            // Disk full, I/O error, lock held past the timeout: nothing of the batch is committed (the
            // transaction rolls back as a whole), so every caller, even one whose expected version was
            // wrong against a state that no longer holds, learns that the store is unavailable.
            writer?.Discard();
            writer = null;
            var unavailable = new EventStoreUnavailableException("The event store could not persist the append.", e);
            foreach (var request in batch) request.Completion.TrySetException(unavailable);
            return;
        }

        var appended = position - Volatile.Read(ref lastPosition);
        Volatile.Write(ref lastPosition, position);
        Interlocked.Increment(ref commitCount);
        Interlocked.Exchange(ref committed, NewCommitSignal()).TrySetResult();
        CommitsCounter.Add(1);
        EventsCounter.Add(appended);
        BatchSize.Record(batch.Count);

        for (var i = 0; i < batch.Count; i++)
        {
            if (outcomes[i] is AppendResult result) batch[i].Completion.TrySetResult(result);
            else batch[i].Completion.TrySetException((Exception)outcomes[i]);
        }
    }

    /// <summary>One append call, all of its streams or none: throws before the caller's savepoint is released.</summary>
    private AppendResult Apply(SqliteWriter writer, IReadOnlyList<StreamAppend> appends,
        Dictionary<string, StreamHead> batchHeads, ref long position)
    {
        // Heads this call moved stay local until it succeeds, so a rejected call leaves the batch's view intact.
        var callHeads = new Dictionary<string, StreamHead>(StringComparer.Ordinal);
        var recordedAt = EventHash.FromUnixMicroseconds(EventHash.ToUnixMicroseconds(timeProvider.GetUtcNow()));
        var recordedAtMicroseconds = EventHash.ToUnixMicroseconds(recordedAt);
        var nextVersions = new long[appends.Count];
        var callPosition = position;

        for (var a = 0; a < appends.Count; a++)
        {
            var append = appends[a];
            if (!callHeads.TryGetValue(append.Stream, out var head) && !batchHeads.TryGetValue(append.Stream, out head))
                head = writer.ReadHead(append.Stream);

            if (append.ExpectedVersion != StreamAppend.Any && append.ExpectedVersion != head.Version)
                throw new WrongExpectedVersionException(append.Stream, append.ExpectedVersion, head.Version);

            foreach (var e in append.Events)
            {
                var version = head.Version + 1;
                var hash = EventHash.Compute(head.Hash, append.Stream, version, e.Type, recordedAt, e.Data);
                callPosition = writer.Insert(append.Stream, version, e.Type, recordedAtMicroseconds, e.Data, hash, head.Hash);
                head = new StreamHead(version, hash);
            }
            callHeads[append.Stream] = head;
            nextVersions[a] = head.Version;
        }

        foreach (var (stream, head) in callHeads) batchHeads[stream] = head;
        position = callPosition;
        return new AppendResult(nextVersions, callPosition);
    }

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

    private static void Validate(IReadOnlyList<StreamAppend> appends)
    {
        ArgumentNullException.ThrowIfNull(appends);
        foreach (var append in appends)
        {
            if (append is null) throw new ArgumentException("An append is null.", nameof(appends));
            if (string.IsNullOrEmpty(append.Stream))
                throw new ArgumentException("Every append needs a stream name.", nameof(appends));
            if (append.ExpectedVersion < StreamAppend.Any)
                throw new ArgumentException(
                    $"Expected version {append.ExpectedVersion} of stream '{append.Stream}' is neither a version, NoStream nor Any.",
                    nameof(appends));
            if (append.Events is null) throw new ArgumentException($"Events of stream '{append.Stream}' are null.", nameof(appends));
            foreach (var e in append.Events)
            {
                if (e is null || string.IsNullOrEmpty(e.Type) || e.Data is null)
                    throw new ArgumentException($"An event of stream '{append.Stream}' lacks a type or data.", nameof(appends));
            }
        }
    }

    private static TaskCompletionSource NewCommitSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed class PendingAppend(IReadOnlyList<StreamAppend> appends, CancellationToken cancellationToken)
    {
        public IReadOnlyList<StreamAppend> Appends { get; } = appends;
        public CancellationToken CancellationToken { get; } = cancellationToken;
        public TaskCompletionSource<AppendResult> Completion { get; } =
            new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
