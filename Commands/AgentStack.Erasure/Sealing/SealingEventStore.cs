using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using AgentStack.Events;

namespace AgentStack.Erasure.Sealing;

/// <summary>
/// The event store every reader and writer uses (issue 14): span payloads are sealed on append and opened on
/// every read, so the command handler, projections, replay and detectors see the bytes as received, or
/// <c>{"erased":true}</c> once their key is destroyed, without any of them knowing about keys. The adapter
/// underneath stores only sealed payloads; <see cref="RawEventStore"/> reads it as stored (verification,
/// signed exports), and the hash chain covers those stored bytes, so erasure leaves it verifiable.
/// Reads of the whole log go through <see cref="OpenedEvents"/>, and concurrent reads of one position share one
/// read: the projections tailing the log read and open each new event once between them. Where the store tells
/// what its commits stored (<see cref="ICommittedEventsSource"/>), the events this process appends go into
/// <see cref="OpenedEvents"/> as appended before the readers wake, so the tail is neither read nor decrypted at all.
/// </summary>
public sealed class SealingEventStore : IEventStore, IEventOpener
{
    private readonly IEventStore inner;
    private readonly PayloadSealer sealer;
    private readonly OpenedEvents recent;
    private readonly Lock readsGate = new();
    private readonly Dictionary<long, Task<StoredEvent[]>> reads = [];
    private readonly StoredDataDecoder openData;

    // The span events of appends in flight, by their sealed bytes (the very array the store is given): what each was
    // before sealing, and the keyring's generation then (an erasure since leaves them unserved, as in OpenedEvents).
    private readonly ConcurrentDictionary<byte[], (byte[] Data, long Generation)> appending = new(ReferenceEqualityComparer.Instance);

    public SealingEventStore(IEventStore inner, PayloadSealer sealer)
    {
        this.inner = inner;
        this.sealer = sealer;
        openData = OpenData;
        recent = new OpenedEvents(sealer.Keys);
        if (inner is ICommittedEventsSource committed)
            committed.OnCommitted(Committed);
    }

    public async Task<AppendResult> AppendAsync(IReadOnlyList<StreamAppend> appends, CancellationToken cancellationToken)
    {
        var generation = sealer.Keys.Generation;
        var sealedAppends = new StreamAppend[appends.Count];
        var sealedEvents = new List<EventData>();
        try
        {
            for (var i = 0; i < appends.Count; i++)
            {
                var append = appends[i];
                var events = new EventData[append.Events.Count];
                for (var j = 0; j < events.Length; j++)
                {
                    var e = append.Events[j];
                    if (!PayloadSealer.Seals(e.Type))
                    {
                        events[j] = e;
                        continue;
                    }
                    events[j] = e with { Data = Seal(e.Data, generation) };
                    sealedEvents.Add(events[j]);
                }
                sealedAppends[i] = append with { Events = events };
            }
            return await inner.AppendAsync(sealedAppends, cancellationToken);
        }
        finally
        {
            // Also when sealing failed halfway: what was sealed is forgotten.
            foreach (var e in sealedEvents)
                appending.TryRemove(e.Data, out _);
        }
    }

    private byte[] Seal(byte[] data, long generation)
    {
        var sealedData = sealer.Seal(data);
        appending[sealedData] = (data, generation);
        return sealedData;
    }

    /// <summary>
    /// A commit's events, on the store's writer thread before it wakes the readers: each as a read would open it. A span
    /// event appended some other way (not through this decorator) is left out, and readers read the log from there.
    /// </summary>
    private void Committed(IReadOnlyList<StoredEvent> stored)
    {
        var generation = sealer.Keys.Generation;
        foreach (var e in stored)
        {
            if (!PayloadSealer.Seals(e.Type))
                recent.Add(e, generation);
            else if (appending.TryGetValue(e.Data, out var appended))
                recent.Add(e, appended.Data, appended.Generation);
        }
    }

    public async IAsyncEnumerable<StoredEvent> ReadStreamAsync(string stream, long fromVersion,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var e in inner.ReadStreamAsync(stream, fromVersion, cancellationToken))
            yield return Open(e);
    }

    public Task<long[]> ReadStreamVersionsAsync(IReadOnlyList<string> streams, CancellationToken cancellationToken) =>
        inner.ReadStreamVersionsAsync(streams, cancellationToken);

    public async Task<IReadOnlyList<StoredEvent>> ReadAllAsync(long afterPosition, int maxCount, CancellationToken cancellationToken)
    {
        while (true)
        {
            var held = recent.Read(afterPosition, maxCount);
            if (held.Length > 0)
                return held;
            TaskCompletionSource<StoredEvent[]>? mine = null;
            Task<StoredEvent[]>? shared;
            lock (readsGate)
            {
                if (!reads.TryGetValue(afterPosition, out shared))
                    reads[afterPosition] = (mine = new(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            }
            if (mine is not null)
                return await ReadAndOpenAsync(afterPosition, maxCount, mine, cancellationToken);
            try
            {
                var read = await shared!.WaitAsync(cancellationToken);
                return read.Length <= maxCount ? read : read[..maxCount];
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // The reader this call joined was cancelled, not this call: read again.
            }
        }
    }

    /// <summary>
    /// Reads and opens for every caller that asks for the same position meanwhile: the runners a commit wakes
    /// together ask at once, before any of them has filled <see cref="OpenedEvents"/>.
    /// </summary>
    private async Task<StoredEvent[]> ReadAndOpenAsync(long afterPosition, int maxCount,
        TaskCompletionSource<StoredEvent[]> shared, CancellationToken cancellationToken)
    {
        StoredEvent[] opened;
        try
        {
            var generation = sealer.Keys.Generation;
            if (inner is IDecodingLogReader decoding)
            {
                var read = await decoding.ReadAllAsync(afterPosition, maxCount, EventDataScope.All, openData, cancellationToken);
                opened = read as StoredEvent[] ?? [.. read];
            }
            else
            {
                var batch = await inner.ReadAllAsync(afterPosition, maxCount, cancellationToken);
                opened = new StoredEvent[batch.Count];
                for (var i = 0; i < opened.Length; i++)
                    opened[i] = Open(batch[i]);
            }
            // A backlog read (a rebuild from 0, a runner catching up) would only push the live tail out.
            if (opened.Length <= recent.Capacity / 4)
                recent.Add(opened, generation);
        }
        catch (Exception e)
        {
            // Forgotten before the joiners wake, so one that reads again starts a read of its own.
            Forget(afterPosition);
            shared.SetException(e);
            _ = shared.Task.Exception; // observed: a read nobody joined is not an unobserved task exception
            throw;
        }
        Forget(afterPosition);
        shared.SetResult(opened);
        return opened;
    }

    private void Forget(long afterPosition)
    {
        lock (readsGate)
            reads.Remove(afterPosition);
    }

    public Task WaitForEventsAfterAsync(long afterPosition, CancellationToken cancellationToken) =>
        inner.WaitForEventsAfterAsync(afterPosition, cancellationToken);

    public Task<long> GetLastPositionAsync(CancellationToken cancellationToken) => inner.GetLastPositionAsync(cancellationToken);

    public Task<IReadOnlyList<StoredEvent>> ReadAllStoredAsync(long afterPosition, int maxCount, CancellationToken cancellationToken) =>
        inner.ReadAllAsync(afterPosition, maxCount, cancellationToken);

    /// <summary>
    /// For a reader of few events' data: what another reader has just read and opened when it is there (without the
    /// data the scope leaves out, which is not copied), otherwise the store's read without the data left out, which
    /// leaves nothing of a span's to decrypt. Such a reader shares the reads of the others while it keeps up and reads
    /// few bytes when it falls behind.
    /// </summary>
    public async Task<IReadOnlyList<StoredEvent>> ReadAllAsync(long afterPosition, int maxCount, EventDataScope data,
        CancellationToken cancellationToken)
    {
        if (data == EventDataScope.All)
            return await ReadAllAsync(afterPosition, maxCount, cancellationToken);
        var held = recent.Read(afterPosition, maxCount, data);
        if (held.Length > 0)
            return held;
        if (inner is IDecodingLogReader decoding)
            return await decoding.ReadAllAsync(afterPosition, maxCount, data, openData, cancellationToken);
        var batch = await inner.ReadAllAsync(afterPosition, maxCount, data, cancellationToken);
        // Only spans are sealed, and both scopes leave their data out; a store may still give more data than asked,
        // and a span's that it gives is opened as ReadAllAsync opens it.
        return batch.Any(IsSealedSpan) ? [.. batch.Select(e => IsSealedSpan(e) ? Open(e) : e)] : batch;

        static bool IsSealedSpan(StoredEvent e) => e.Data.Length > 0 && PayloadSealer.Seals(e.Type);
    }

    public StoredEvent OpenPayloads(StoredEvent stored) =>
        PayloadSealer.Seals(stored.Type) ? stored with { Data = sealer.Open(stored.Data, contentHash: false) } : stored;

    /// <summary>
    /// An event's data as a read of the log gives it, opened from the store's buffer where the store reads that way
    /// (<see cref="IDecodingLogReader"/>): no copy of the sealed bytes is made.
    /// </summary>
    private byte[] OpenData(string type, ReadOnlySpan<byte> stored) =>
        stored.IsEmpty ? [] : PayloadSealer.Seals(type) ? sealer.OpenCopy(stored) : stored.ToArray();

    private StoredEvent Open(StoredEvent e) => PayloadSealer.Seals(e.Type) ? e with { Data = sealer.Open(e.Data) } : e;
}

/// <summary>What readers of the raw log (exports) show: the same opening as <see cref="SealingEventStore"/>.</summary>
public sealed class SealedEventPresenter(PayloadSealer sealer) : IEventPresenter
{
    public byte[] Present(StoredEvent stored) => PayloadSealer.Seals(stored.Type) ? sealer.Open(stored.Data) : stored.Data;
}
