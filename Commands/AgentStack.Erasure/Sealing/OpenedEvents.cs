using System.Diagnostics;
using AgentStack.Erasure.Keys;
using AgentStack.Events;

namespace AgentStack.Erasure.Sealing;

/// <summary>
/// The log's most recently opened events, by position, so that the projections tailing the log (analytics,
/// detections, findings, anomalies, alerts: each with its own checkpoint) read and decrypt each new event once
/// between them rather than once each. A ring of <see cref="Capacity"/> slots, slot = position mod capacity;
/// readers take the run of consecutive positions it holds and go to the store from the first gap.
/// <para>
/// The events' data is kept apart from the events, in one buffer allocated once (<see cref="BufferBytes"/>), written
/// round and round, and each reader that asks for it gets its own copy. Held as arrays, the data of a second of the log
/// outlived every gen0 collection and was copied out of it each time: about half of what each collection promoted at the
/// embedded server's peak, and of the time it held the threads (BENCHMARKS.md, "Opened events out of the collected heap").
/// A copy made for a reader dies with its batch. An event whose bytes the buffer has since written over is a gap, as
/// an empty slot is: a reader checks that after its copy (a sequence lock: <see cref="written"/> moves before the bytes
/// do), so it never takes bytes of another event for this one's.
/// </para>
/// <para>
/// An opened payload changes only when its key is destroyed: an erasure through this process's keyring
/// (<see cref="SubjectKeyring.Generation"/>) empties the ring at once (the buffer is zeroed at the next add or read),
/// and entries are not served longer than the keyring caches keys (<see cref="SubjectKeyring.CacheLifetime"/>), the
/// delay after which an erasure in another process is seen here too (docs/privacy.md).
/// </para>
/// </summary>
public sealed class OpenedEvents
{
    /// <summary>
    /// More than a live projection batch, so runners a batch apart still share their reads; and about a second of the
    /// log at the embedded server's peak, so a runner whose batch took that long is still at the tail after it. At 16,384
    /// the analytics runner fell off the tail at 80% of the peak in some runs, and read the log from the store from then
    /// on (BENCHMARKS.md, "Opened as read").
    /// </summary>
    public const int DefaultCapacity = 32_768;

    /// <summary>
    /// The buffer of the events' data: <see cref="DefaultCapacity"/> span events of about 2 KB opened (the benchmark's
    /// spans are 1.4 KB). Larger payloads fill it sooner, and the ring then holds fewer positions than it has slots.
    /// </summary>
    public const int DefaultBufferBytes = 64 << 20;

    // Entry.Event carries no data; it is at [Start, Start + Length) of the bytes ever written (mod the buffer's length),
    // or, for data too large for the buffer to hold many of (Start < 0), in Event itself.
    private sealed record Entry(StoredEvent Event, long Start, int Length, long OpenedAt, long Generation);

    private readonly SubjectKeyring keys;
    private readonly Entry?[] slots;
    private readonly byte[] buffer;
    private readonly Lock writing = new();

    // The end of the last region taken in the buffer, counted in bytes ever written: moved (a full fence) before the
    // region's bytes are, so a reader that finds it past its own event's start + the buffer's length after copying
    // knows the copy may hold other bytes.
    private long written;

    // The keyring's generation the buffer was last emptied for (under writing).
    private long emptiedFor;

    public OpenedEvents(SubjectKeyring keys, int capacity = DefaultCapacity, int bufferBytes = DefaultBufferBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(bufferBytes, 1);
        this.keys = keys;
        slots = new Entry?[capacity];
        buffer = new byte[bufferBytes];
        emptiedFor = keys.Generation;
    }

    public int Capacity => slots.Length;

    public int BufferBytes => buffer.Length;

    /// <summary>Data larger than this is kept with its event, not in the buffer, which would hold only a few such.</summary>
    private int LargestBuffered => Math.Max(buffer.Length / 16, 1);

    // The run found, kept by the thread for its next read: a result grown by doubling passed 85,000 bytes at 8,192
    // events and went to the large object heap, and a runner at the tail under load takes thousands at once.
    [ThreadStatic]
    private static List<StoredEvent>? run;

    /// <summary>
    /// The events at positions <paramref name="afterPosition"/>+1, +2, … held here, at most <paramref name="maxCount"/>;
    /// empty at the first gap. With <paramref name="data"/> other than <see cref="EventDataScope.All"/>, the data the
    /// scope leaves out is empty, as a read of the store in that scope gives it, and is not copied.
    /// </summary>
    public StoredEvent[] Read(long afterPosition, int maxCount, EventDataScope data = EventDataScope.All)
    {
        var generation = keys.Generation;
        EmptyIfErased(generation);
        var found = run ??= new List<StoredEvent>(256);
        try
        {
            for (var position = afterPosition + 1; found.Count < maxCount; position++)
            {
                var entry = Volatile.Read(ref slots[position % slots.Length]);
                if (entry is null || entry.Event.Position != position || entry.Generation != generation
                    || Stopwatch.GetElapsedTime(entry.OpenedAt) >= keys.CacheLifetime)
                    break;
                if (entry.Start < 0 || entry.Length == 0 || LeftOut(data, entry.Event.Type))
                {
                    found.Add(entry.Event);
                    continue;
                }
                if (Copy(entry) is not { } copy)
                    break;
                found.Add(entry.Event with { Data = copy });
            }
            return [.. found];
        }
        finally
        {
            found.Clear(); // the thread's list must not keep the events alive
        }
    }

    private static bool LeftOut(EventDataScope data, string type) => data switch
    {
        EventDataScope.All => false,
        EventDataScope.AllButSpans => PayloadSealer.Seals(type),
        _ => true,
    };

    /// <summary>The entry's bytes, or null when the buffer has been written over them, before or during the copy.</summary>
    private byte[]? Copy(Entry entry)
    {
        var copy = GC.AllocateUninitializedArray<byte>(entry.Length);
        buffer.AsSpan((int)(entry.Start % buffer.Length), entry.Length).CopyTo(copy);
        Interlocked.MemoryBarrier(); // the copy's loads come before the check's
        return Volatile.Read(ref written) - buffer.Length <= entry.Start ? copy : null;
    }

    /// <summary>
    /// Keeps events just read from the store and opened; <paramref name="generation"/> is the keyring's generation
    /// read before the store was, so an erasure that happened meanwhile leaves them unserved.
    /// </summary>
    public void Add(IReadOnlyList<StoredEvent> opened, long generation)
    {
        var now = Stopwatch.GetTimestamp();
        foreach (var e in opened)
        {
            // One event at a time: the event store's writer adds what it commits here too, and waits for no batch.
            lock (writing)
                Keep(e, e.Data, now, generation);
        }
    }

    /// <summary>Keeps one event as a read would open it, appended under the keyring's <paramref name="generation"/>.</summary>
    public void Add(StoredEvent opened, long generation) => Add(opened, opened.Data, generation);

    /// <summary>Keeps <paramref name="stored"/> with <paramref name="data"/> in place of its own (the bytes before sealing).</summary>
    public void Add(StoredEvent stored, byte[] data, long generation)
    {
        var now = Stopwatch.GetTimestamp();
        lock (writing)
            Keep(stored, data, now, generation);
    }

    /// <summary>Under <see cref="writing"/>. What was opened before the latest erasure is not kept at all: it would never be served.</summary>
    private void Keep(StoredEvent e, byte[] data, long now, long generation)
    {
        EmptyIfErasedLocked(keys.Generation);
        if (generation != emptiedFor)
            return;
        Entry entry;
        if (data.Length == 0 || data.Length > LargestBuffered)
        {
            entry = new Entry(ReferenceEquals(e.Data, data) ? e : e with { Data = data }, -1, data.Length, now, generation);
        }
        else
        {
            // A region never wraps round the buffer's end: what is left there is skipped.
            var start = written;
            var offset = (int)(start % buffer.Length);
            if (offset + data.Length > buffer.Length)
            {
                start += buffer.Length - offset;
                offset = 0;
            }
            Interlocked.Exchange(ref written, start + data.Length);
            data.CopyTo(buffer.AsSpan(offset));
            entry = new Entry(e.Data.Length == 0 ? e : e with { Data = [] }, start, data.Length, now, generation);
        }
        Volatile.Write(ref slots[e.Position % slots.Length], entry);
    }

    private void EmptyIfErased(long generation)
    {
        if (generation == Volatile.Read(ref emptiedFor))
            return;
        lock (writing)
            EmptyIfErasedLocked(generation);
    }

    /// <summary>
    /// After an erasure nothing held is served (each entry has the generation it was opened under); the buffer is also
    /// zeroed, so the payloads of an erased subject do not stay in it until written over. Every region is first given up
    /// (<see cref="written"/> moves a whole buffer on), so a reader copying meanwhile finds its copy void.
    /// </summary>
    private void EmptyIfErasedLocked(long generation)
    {
        if (generation == emptiedFor)
            return;
        Interlocked.Exchange(ref written, written + buffer.Length + (buffer.Length - written % buffer.Length));
        Array.Clear(buffer);
        Volatile.Write(ref emptiedFor, generation);
    }
}
