using AgentStack.Events;

namespace AgentStack.EventStore.Tests;

internal sealed class StoredEventComparer : IEqualityComparer<StoredEvent>
{
    public static readonly StoredEventComparer Instance = new();

    public bool Equals(StoredEvent? x, StoredEvent? y) =>
        x is not null && y is not null && x with { Data = [] } == y with { Data = [] } && x.Data.AsSpan().SequenceEqual(y.Data);

    public int GetHashCode(StoredEvent obj) => HashCode.Combine(obj.Position, obj.Hash);
}
