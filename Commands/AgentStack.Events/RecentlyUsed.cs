namespace AgentStack.Events;

/// <summary>
/// A map of at most <c>capacity</c> entries that forgets the least recently used one to make room: the ingestion's
/// cache of decided trace states, and the anomaly engine's baselines, keyed by names the spans carry. Use is the order
/// of calls, not a clock, so the same calls forget the same entries (a projection's state stays a function of the log).
/// Not thread-safe: a caller shared between threads locks around it.
/// </summary>
public sealed class RecentlyUsed<TKey, TValue> where TKey : notnull
{
    private readonly int capacity;
    private readonly Dictionary<TKey, LinkedListNode<(TKey Key, TValue Value)>> entries;
    private readonly LinkedList<(TKey Key, TValue Value)> order = new();

    public RecentlyUsed(int capacity, IEqualityComparer<TKey>? comparer = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        this.capacity = capacity;
        entries = new(comparer);
    }

    public int Count => entries.Count;

    /// <summary>The entry of <paramref name="key"/>, now the most recently used, if there is one.</summary>
    public bool TryGet(TKey key, out TValue value)
    {
        if (!entries.TryGetValue(key, out var node))
        {
            value = default!;
            return false;
        }
        Touch(node);
        value = node.Value.Value;
        return true;
    }

    /// <summary>
    /// Sets the entry of <paramref name="key"/>, now the most recently used; a new key first makes room by forgetting
    /// the least recently used entry if the map is full.
    /// </summary>
    public void Set(TKey key, TValue value)
    {
        if (entries.TryGetValue(key, out var node))
        {
            node.Value = (key, value);
            Touch(node);
            return;
        }
        if (entries.Count >= capacity && order.First is { } oldest)
        {
            entries.Remove(oldest.Value.Key);
            order.RemoveFirst();
        }
        entries.Add(key, order.AddLast((key, value)));
    }

    /// <summary>Forgets the entry of <paramref name="key"/>, if there is one.</summary>
    public void Remove(TKey key)
    {
        if (entries.Remove(key, out var node))
            order.Remove(node);
    }

    private void Touch(LinkedListNode<(TKey Key, TValue Value)> node)
    {
        if (node.Next is null)
            return;
        order.Remove(node);
        order.AddLast(node);
    }
}
