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
/// An opened payload changes only when its key is destroyed: an erasure through this process's keyring
/// (<see cref="SubjectKeyring.Generation"/>) empties the ring at once, and entries are not served longer than
/// the keyring caches keys (<see cref="SubjectKeyring.CacheLifetime"/>), the delay after which an erasure in
/// another process is seen here too (docs/privacy.md).
/// </para>
/// </summary>
public sealed class OpenedEvents(SubjectKeyring keys, int capacity = OpenedEvents.DefaultCapacity)
{
    /// <summary>
    /// More than a live projection batch, so runners a batch apart still share their reads; and about a second of the
    /// log at the embedded server's peak, so a runner whose batch took that long is still at the tail after it. At 16,384
    /// the analytics runner fell off the tail at 80% of the peak in some runs, and read the log from the store from then
    /// on (BENCHMARKS.md, "Opened as read").
    /// </summary>
    public const int DefaultCapacity = 32_768;

    private sealed record Entry(StoredEvent Event, long OpenedAt, long Generation);

    private readonly Entry?[] slots = new Entry?[capacity];

    public int Capacity => slots.Length;

    // The run found, kept by the thread for its next read: a result grown by doubling passed 85,000 bytes at 8,192
    // events and went to the large object heap, and a runner at the tail under load takes thousands at once.
    [ThreadStatic]
    private static List<StoredEvent>? run;

    /// <summary>The events at positions <paramref name="afterPosition"/>+1, +2, … held here, at most <paramref name="maxCount"/>; empty at the first gap.</summary>
    public StoredEvent[] Read(long afterPosition, int maxCount)
    {
        var found = run ??= new List<StoredEvent>(256);
        try
        {
            var generation = keys.Generation;
            for (var position = afterPosition + 1; found.Count < maxCount; position++)
            {
                var entry = Volatile.Read(ref slots[position % slots.Length]);
                if (entry is null || entry.Event.Position != position || entry.Generation != generation
                    || Stopwatch.GetElapsedTime(entry.OpenedAt) >= keys.CacheLifetime)
                    break;
                found.Add(entry.Event);
            }
            return [.. found];
        }
        finally
        {
            found.Clear(); // the thread's list must not keep the events alive
        }
    }

    /// <summary>
    /// Keeps events just read from the store and opened; <paramref name="generation"/> is the keyring's generation
    /// read before the store was, so an erasure that happened meanwhile leaves them unserved.
    /// </summary>
    public void Add(IReadOnlyList<StoredEvent> opened, long generation)
    {
        var now = Stopwatch.GetTimestamp();
        foreach (var e in opened)
            Volatile.Write(ref slots[e.Position % slots.Length], new Entry(e, now, generation));
    }

    /// <summary>Keeps one event as a read would open it, appended under the keyring's <paramref name="generation"/>.</summary>
    public void Add(StoredEvent opened, long generation) =>
        Volatile.Write(ref slots[opened.Position % slots.Length], new Entry(opened, Stopwatch.GetTimestamp(), generation));
}
