namespace AgentStack.EventStore.Marten;

/// <summary>Where the distributed event store lives: a PostgreSQL database and the schema its tables go in.</summary>
public sealed record MartenEventStoreOptions(string ConnectionString, string Schema = "agentstack")
{
    /// <summary>
    /// How long an append waits for the log's write lock (held by another process's commit) before the
    /// store answers <see cref="AgentStack.Events.EventStoreUnavailableException"/> (503) instead of hanging.
    /// </summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Most append calls sharing one transaction (group commit), as in the SQLite store.</summary>
    public int MaxBatchSize { get; init; } = 512;
}
