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
    private readonly Dictionary<string, LinkedListNode<Entry>> entries = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> recency = new();
    private readonly Lock gate = new();

    public readonly record struct Head(TraceState State, long Version);

    private sealed record Entry(string Stream, Head Head);

    public int Count
    {
        get
        {
            lock (gate)
                return entries.Count;
        }
    }

    public bool TryGet(string stream, out Head head)
    {
        lock (gate)
        {
            if (entries.TryGetValue(stream, out var node))
            {
                recency.Remove(node);
                recency.AddFirst(node);
                head = node.Value.Head;
                return true;
            }
        }
        head = default;
        return false;
    }

    public void Set(string stream, TraceState state, long version)
    {
        if (capacity <= 0)
            return;
        lock (gate)
        {
            if (entries.Remove(stream, out var existing))
                recency.Remove(existing);
            entries[stream] = recency.AddFirst(new Entry(stream, new Head(state, version)));
            while (entries.Count > capacity && recency.Last is { } oldest)
            {
                recency.RemoveLast();
                entries.Remove(oldest.Value.Stream);
            }
        }
    }

    public void Remove(string stream)
    {
        lock (gate)
        {
            if (entries.Remove(stream, out var node))
                recency.Remove(node);
        }
    }
}
