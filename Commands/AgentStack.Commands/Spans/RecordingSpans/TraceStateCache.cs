using AgentStack.Events;

namespace AgentStack.Commands.Spans.RecordingSpans;

/// <summary>
/// The decided state and version of recently written trace streams (issue 13, cheap state), so a batch does not
/// re-read and re-decode its whole trace: without it a long-running agent sending many small batches costs
/// quadratic work. Bounded (least recently used first out, <c>AgentStack:Ingest:TraceStateCacheSize</c> streams).
/// An entry is written only after a successful append at the expected version, so it is exact for this process;
/// another writer's append makes the next append here fail on the expected version, and the handler drops the entry.
/// </summary>
public sealed class TraceStateCache(int capacity)
{
    // Null when the cache is turned off (a capacity of 0).
    private readonly RecentlyUsed<string, Head>? entries = capacity > 0 ? new(capacity, StringComparer.Ordinal) : null;
    private readonly Lock gate = new();

    public readonly record struct Head(TraceState State, long Version);

    public int Count
    {
        get
        {
            lock (gate)
                return entries?.Count ?? 0;
        }
    }

    public bool TryGet(string stream, out Head head)
    {
        lock (gate)
        {
            if (entries is not null && entries.TryGet(stream, out head))
                return true;
        }
        head = default;
        return false;
    }

    public void Set(string stream, TraceState state, long version)
    {
        if (entries is null)
            return;
        lock (gate)
            entries.Set(stream, new Head(state, version));
    }

    public void Remove(string stream)
    {
        if (entries is null)
            return;
        lock (gate)
            entries.Remove(stream);
    }
}
