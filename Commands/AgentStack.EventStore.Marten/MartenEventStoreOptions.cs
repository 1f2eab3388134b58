using AgentStack.EventStore.Common;

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

    /// <summary>
    /// Most bytes of event data in one transaction: a group stops taking calls once it holds this much (a single call
    /// over it gets a group of its own). Bounds what a group holds in memory and, on PostgreSQL, keeps its one INSERT
    /// under the server's 1 GB limit on a message.
    /// </summary>
    public long MaxBatchBytes { get; init; } = GroupCommitQueue.DefaultMaxBatchBytes;
}
