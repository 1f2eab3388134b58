namespace AgentStack.EventStore.Sqlite;

/// <summary>Where the embedded event store keeps its single SQLite file, and how long it waits for it.</summary>
public sealed record SqliteEventStoreOptions(string DatabasePath)
{
    /// <summary>
    /// How long a statement waits for a lock held by someone else before the store answers
    /// <see cref="AgentStack.Events.EventStoreUnavailableException"/> (503) instead of hanging the request.
    /// </summary>
    public TimeSpan BusyTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Most append calls sharing one transaction: bounds how long one commit holds the write lock
    /// and how much a failed commit takes down with it.
    /// </summary>
    public int MaxBatchSize { get; init; } = 512;
}
