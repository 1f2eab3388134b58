using System.Diagnostics.Metrics;
using System.Threading.Channels;
using AgentStack.Events;

namespace AgentStack.EventStore.Common;

/// <summary>A stream's last version and hash: what the next event chains to.</summary>
public readonly record struct StreamHead(long Version, string Hash)
{
    public static readonly StreamHead Empty = new(0, EventHash.Genesis);
}

/// <summary>
/// One group's transaction, opened by an adapter under its write lock. <see cref="GroupCommitQueue"/> checks each
/// append call's expected versions against the heads before it inserts any of its events, so a stale call is
/// refused having written nothing, and the group needs no savepoints; then it commits once. Disposing without a
/// commit abandons whatever the transaction holds.
/// </summary>
public interface IGroupCommitTransaction : IAsyncDisposable
{
    /// <summary>The position of the log's last event when the transaction began.</summary>
    long StartPosition { get; }

    /// <summary>The stream's head as committed before this group (<see cref="StreamHead.Empty"/> if none).</summary>
    StreamHead ReadHead(string stream);

    /// <summary>Adds one event to the transaction and returns the position it takes in the log.</summary>
    long Insert(string stream, long version, string type, DateTimeOffset recordedAt, byte[] data, string hash, string prevHash);

    /// <summary>Makes the group durable; false if the adapter had nothing to commit and rolled back instead.</summary>
    ValueTask<bool> CommitAsync();
}

/// <summary>The instruments of a group-committing store, under the adapter's own meter name.</summary>
public sealed class GroupCommitMetrics
{
    public GroupCommitMetrics(string meterName, string commitsDescription, string eventsDescription)
    {
        var meter = new Meter(meterName);
        Commits = meter.CreateCounter<long>("agentstack.eventstore.commits", description: commitsDescription);
        Events = meter.CreateCounter<long>("agentstack.eventstore.events_appended", description: eventsDescription);
        BatchSize = meter.CreateHistogram<int>(
            "agentstack.eventstore.batch_size", description: "Append calls sharing one group commit.");
    }

    internal Counter<long> Commits { get; }
    internal Counter<long> Events { get; }
    internal Histogram<int> BatchSize { get; }
}

/// <summary>
/// Group commit, shared by the event-store adapters: appends from every caller of a store instance go
/// through one writer loop that commits them in groups of up to <c>maxBatchSize</c> calls, one transaction per
/// group, so throughput scales with concurrency instead of paying a durable commit per request. The
/// adapter opens the transaction (<see cref="IGroupCommitTransaction"/>); this class validates the calls,
/// checks expected versions, chains the hashes, completes the callers and wakes the waiters.
/// </summary>
public sealed class GroupCommitQueue : IAsyncDisposable
{
    private readonly int maxBatchSize;
    private readonly long maxBatchBytes;
    private readonly TimeProvider timeProvider;
    private readonly GroupCommitMetrics metrics;
    private readonly Func<IEnumerable<StreamAppend>, ValueTask<IGroupCommitTransaction>> beginAsync;
    private readonly Action? onFailure;
    private Action<IReadOnlyList<StoredEvent>>[] observers = [];
    private readonly Channel<PendingAppend> pending = Channel.CreateUnbounded<PendingAppend>(
        new UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = false });
    private readonly Task writerLoop;

    // The highest position known to be committed: from this queue's commits and whatever else the
    // adapter learns of (another process's NOTIFY).
    private long lastPosition;
    private long commitCount;
    private TaskCompletionSource committed = NewSignal();

    /// <param name="maxBatchBytes">
    /// Event data past which a group takes no further call: a group holds at most this much, or one call that alone holds
    /// more. PostgreSQL refuses a statement over 1 GB, and the Marten store inserts a group with one.
    /// </param>
    /// <param name="beginAsync">Opens a group's transaction; it is given every append of the group, so it can read their heads up front.</param>
    /// <param name="onFailure">Called after a group failed for any reason but a stale expected version, before its callers learn of it.</param>
    /// <param name="writerPriority">
    /// How many nice steps above the process's priority the writer thread runs, 0 to 20 (Linux; needs CAP_SYS_NICE or a
    /// RLIMIT_NICE that allows it, else the writer keeps the process's priority and says so on standard error).
    /// </param>
    public GroupCommitQueue(int maxBatchSize, long maxBatchBytes, TimeProvider timeProvider, GroupCommitMetrics metrics,
        Func<IEnumerable<StreamAppend>, ValueTask<IGroupCommitTransaction>> beginAsync, Action? onFailure = null,
        int writerPriority = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBatchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBatchBytes);
        ArgumentOutOfRangeException.ThrowIfNegative(writerPriority);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(writerPriority, MaxWriterPriority);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(beginAsync);

        this.maxBatchSize = maxBatchSize;
        this.maxBatchBytes = maxBatchBytes;
        this.timeProvider = timeProvider;
        this.metrics = metrics;
        this.beginAsync = beginAsync;
        this.onFailure = onFailure;
        // The writer is the log's one serial stage: every append waits for its turn. On the thread pool it queued
        // behind whatever else the process had to do (request parsing, projections) each time it woke, and its
        // synchronous commits (SQLite's fsync) held a pool thread; on a thread of its own it runs when it can.
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new ManualResetEventSlim();
        new Thread(() => RunWriter(writerPriority, started, stopped)) { IsBackground = true, Name = "eventstore-writer" }.Start();
        started.Wait();
        started.Dispose();
        writerLoop = stopped.Task;
    }

    /// <summary>
    /// The stores' default for <c>maxBatchBytes</c>: far above a peak's groups (hundreds of calls of a few hundred KB),
    /// far below PostgreSQL's 1 GB, and a 16 MB request still goes in with others.
    /// </summary>
    public const long DefaultMaxBatchBytes = 64L * 1024 * 1024;

    /// <summary>The most nice steps a writer can be raised by: from 0 to Linux's -20.</summary>
    public const int MaxWriterPriority = 20;

    /// <summary>The writer thread's nice value as it read it once set (null where there are none): a diagnostic.</summary>
    public int? WriterNice { get; private set; }

    /// <summary>Transactions committed through this queue: a diagnostic that group commit is happening.</summary>
    public long CommitCount => Interlocked.Read(ref commitCount);

    public long LastPosition => Volatile.Read(ref lastPosition);

    public Task<AppendResult> AppendAsync(IReadOnlyList<StreamAppend> appends, CancellationToken cancellationToken)
    {
        var bytes = Validate(appends);
        if (cancellationToken.IsCancellationRequested) return Task.FromCanceled<AppendResult>(cancellationToken);

        var request = new PendingAppend(appends, bytes, cancellationToken);
        if (!pending.Writer.TryWrite(request))
            return Task.FromException<AppendResult>(new EventStoreUnavailableException("The event store is shutting down."));
        // Deliberately not WaitAsync(cancellationToken): once a batch has started, the caller must learn
        // whether its events were committed, not a cancellation that hides a durable write.
        return request.Completion.Task;
    }

    /// <summary>
    /// Calls <paramref name="committed"/> on the writer thread after each commit, with the events it stored in position
    /// order, before the commit is published to the waiters (<see cref="ICommittedEventsSource"/>).
    /// </summary>
    public void OnCommitted(Action<IReadOnlyList<StoredEvent>> committed)
    {
        ArgumentNullException.ThrowIfNull(committed);
        lock (pending)
            observers = [.. observers, committed];
    }

    /// <summary>Completes once a position greater than <paramref name="afterPosition"/> has been published.</summary>
    public async Task WaitForPositionAfterAsync(long afterPosition, CancellationToken cancellationToken)
    {
        while (true)
        {
            // Take the signal before reading the position: a publish sets the position before it swaps
            // and completes the signal, so a publish between the two reads is never missed.
            var signal = Volatile.Read(ref committed);
            if (Volatile.Read(ref lastPosition) > afterPosition) return;
            await signal.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Raises the known last position and wakes the waiters; a lower or equal position is ignored.</summary>
    public void Publish(long position)
    {
        // Compare-and-swap, not a plain write: the writer loop and an adapter's own sources (a
        // notification, a read of the last position) may publish concurrently and out of order.
        var current = Volatile.Read(ref lastPosition);
        while (position > current)
        {
            var seen = Interlocked.CompareExchange(ref lastPosition, position, current);
            if (seen == current)
            {
                Interlocked.Exchange(ref committed, NewSignal()).TrySetResult();
                return;
            }
            current = seen;
        }
    }

    /// <summary>Stops accepting appends and returns once those already queued are committed (or failed).</summary>
    public async ValueTask DisposeAsync()
    {
        pending.Writer.TryComplete();
        await writerLoop;
    }

    /// <summary>
    /// The writer thread's loop: blocks while nothing is pending, and on an adapter's asynchronous transaction
    /// (Marten's round trips), which is the only work this thread has.
    /// </summary>
    private void RunWriter(int priority, ManualResetEventSlim started, TaskCompletionSource stopped)
    {
        // Above the request threads, while it has work: when the cores are full, the scheduler's fair share left this
        // thread runnable but waiting two thirds of the time, and every request of the process waited with it
        // (docs/event-store.md, "The writer first").
        if (priority > 0)
            ThreadNice.SetFromProcess(-priority);
        WriterNice = ThreadNice.Current();
        started.Set();
        try
        {
            var reader = pending.Reader;
            var batch = new List<PendingAppend>(maxBatchSize);
            // A call that would have taken its group past maxBatchBytes: it opens the next group.
            PendingAppend? next = null;
            while (next is not null || Wait(reader.WaitToReadAsync()))
            {
                long bytes = 0;
                if (next is not null)
                {
                    batch.Add(next);
                    bytes = next.Bytes;
                    next = null;
                }
                while (next is null && batch.Count < maxBatchSize && bytes < maxBatchBytes && reader.TryRead(out var request))
                {
                    if (request.CancellationToken.IsCancellationRequested)
                        request.Completion.TrySetCanceled(request.CancellationToken);
                    else if (batch.Count > 0 && bytes + request.Bytes > maxBatchBytes)
                        next = request;
                    else
                    {
                        batch.Add(request);
                        bytes += request.Bytes;
                    }
                }
                if (batch.Count > 0) Wait(WriteBatchAsync(batch));
                batch.Clear();
            }
            stopped.SetResult();
        }
        catch (Exception e)
        {
            stopped.SetException(e);
        }
    }

    private static bool Wait(ValueTask<bool> task) => task.IsCompletedSuccessfully ? task.Result : task.AsTask().GetAwaiter().GetResult();

    private static void Wait(Task task) => task.GetAwaiter().GetResult();

    private async Task WriteBatchAsync(List<PendingAppend> batch)
    {
        var outcomes = new object[batch.Count];
        long startPosition, position;
        bool isCommitted;
        var observed = Volatile.Read(ref observers);
        var stored = observed.Length > 0 ? new List<StoredEvent>() : null;
        try
        {
            await using var transaction = await beginAsync(batch.SelectMany(request => request.Appends));
            startPosition = position = transaction.StartPosition;
            // Heads as the group's earlier calls moved them: an adapter may answer ReadHead from the log as
            // it was before the group (Marten reads every head up front), and a stream appended to twice
            // in a group is read once.
            var heads = new Dictionary<string, StreamHead>(StringComparer.Ordinal);
            for (var i = 0; i < batch.Count; i++)
            {
                // A stale expected version refuses that call alone, before it wrote anything, not the group.
                outcomes[i] = (object?)Refusal(transaction, batch[i].Appends, heads)
                    ?? Apply(transaction, batch[i].Appends, heads, ref position, stored);
            }
            isCommitted = await transaction.CommitAsync();
        }
        catch (Exception e)
        {
            // Connection lost, lock held past the timeout, disk full: nothing of the batch is known to be
            // committed (the transaction rolls back as a whole), so every caller, even one whose expected
            // version was wrong against a state that no longer holds, learns that the store is unavailable
            // (503, retry). A failure of COMMIT itself leaves the outcome unknown; the retry is safe
            // because ingestion is idempotent.
            onFailure?.Invoke();
            var unavailable = new EventStoreUnavailableException("The event store could not persist the append.", e);
            foreach (var request in batch) request.Completion.TrySetException(unavailable);
            return;
        }

        if (isCommitted)
        {
            if (stored is { Count: > 0 })
                foreach (var observer in observed)
                    observer(stored);
            Publish(position);
            Interlocked.Increment(ref commitCount);
            metrics.Commits.Add(1);
            metrics.Events.Add(position - startPosition);
        }
        metrics.BatchSize.Record(batch.Count);

        for (var i = 0; i < batch.Count; i++)
        {
            if (outcomes[i] is AppendResult result) batch[i].Completion.TrySetResult(result);
            else batch[i].Completion.TrySetException((Exception)outcomes[i]);
        }
    }

    /// <summary>
    /// Why one append call cannot be applied, or null if it can: each stream's expected version against its head as the
    /// group's earlier calls left it (and as this call's earlier appends to the same stream would). Heads read from the
    /// store are kept in <paramref name="batchHeads"/>, so <see cref="Apply"/> does not read them again; nothing is written.
    /// </summary>
    private static WrongExpectedVersionException? Refusal(IGroupCommitTransaction transaction, IReadOnlyList<StreamAppend> appends,
        Dictionary<string, StreamHead> batchHeads)
    {
        Dictionary<string, long>? callVersions = null;
        foreach (var append in appends)
        {
            long version;
            if (callVersions is null || !callVersions.TryGetValue(append.Stream, out version))
            {
                if (!batchHeads.TryGetValue(append.Stream, out var head))
                    batchHeads[append.Stream] = head = transaction.ReadHead(append.Stream);
                version = head.Version;
            }
            if (append.ExpectedVersion != StreamAppend.Any && append.ExpectedVersion != version)
                return new WrongExpectedVersionException(append.Stream, append.ExpectedVersion, version);
            if (appends.Count > 1)
                (callVersions ??= new Dictionary<string, long>(StringComparer.Ordinal))[append.Stream] = version + append.Events.Count;
        }
        return null;
    }

    /// <summary>One append call that <see cref="Refusal"/> passed: inserts its events, chained to the heads it found.</summary>
    private AppendResult Apply(IGroupCommitTransaction transaction, IReadOnlyList<StreamAppend> appends,
        Dictionary<string, StreamHead> batchHeads, ref long position, List<StoredEvent>? stored)
    {
        // Both stores keep whole microseconds; the hash covers the value as stored.
        var recordedAt = EventHash.FromUnixMicroseconds(EventHash.ToUnixMicroseconds(timeProvider.GetUtcNow()));
        var nextVersions = new long[appends.Count];

        for (var a = 0; a < appends.Count; a++)
        {
            var append = appends[a];
            var head = batchHeads[append.Stream];
            foreach (var e in append.Events)
            {
                var version = head.Version + 1;
                var hash = EventHash.Compute(head.Hash, append.Stream, version, e.Type, recordedAt, e.Data);
                position = transaction.Insert(append.Stream, version, e.Type, recordedAt, e.Data, hash, head.Hash);
                stored?.Add(new StoredEvent(position, append.Stream, version, e.Type, recordedAt, e.Data, hash, head.Hash));
                head = new StreamHead(version, hash);
            }
            batchHeads[append.Stream] = head;
            nextVersions[a] = head.Version;
        }
        return new AppendResult(nextVersions, position);
    }

    /// <summary>Checks one append call and returns the bytes of event data it holds.</summary>
    private static long Validate(IReadOnlyList<StreamAppend> appends)
    {
        ArgumentNullException.ThrowIfNull(appends);
        long bytes = 0;
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
                bytes += e.Data.Length;
            }
        }
        return bytes;
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed class PendingAppend(IReadOnlyList<StreamAppend> appends, long bytes, CancellationToken cancellationToken)
    {
        public IReadOnlyList<StreamAppend> Appends { get; } = appends;
        public long Bytes { get; } = bytes;
        public CancellationToken CancellationToken { get; } = cancellationToken;
        public TaskCompletionSource<AppendResult> Completion { get; } =
            new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
