namespace AgentStack.Anomalies.Detecting;

/// <summary>
/// At most <c>capacity</c> entries; adding one to a full map forgets the least recently used. The baselines are keyed
/// by names the spans carry (a model, a tool, an agent's root span), which a client can vary without end. Use is the
/// order of calls, not a clock, so the same log forgets the same series and the projection's state stays a function of
/// the log.
/// </summary>
internal sealed class RecentlyUsed<TKey, TValue>(int capacity) where TKey : notnull
{
    private readonly Dictionary<TKey, LinkedListNode<(TKey Key, TValue Value)>> entries = [];
    private readonly LinkedList<(TKey Key, TValue Value)> order = new();

    public int Count => entries.Count;

    /// <summary>The entry of <paramref name="key"/>, now the most recently used, if there is one.</summary>
    public bool TryGet(TKey key, out TValue value)
    {
        if (!entries.TryGetValue(key, out var node))
        {
            value = default!;
            return false;
        }
        order.Remove(node);
        order.AddLast(node);
        value = node.Value.Value;
        return true;
    }

    /// <summary>Adds a key that is not there, first forgetting the least recently used entry if the map is full.</summary>
    public void Add(TKey key, TValue value)
    {
        if (entries.Count >= capacity && order.First is { } oldest)
        {
            entries.Remove(oldest.Value.Key);
            order.RemoveFirst();
        }
        entries.Add(key, order.AddLast((key, value)));
    }
}
