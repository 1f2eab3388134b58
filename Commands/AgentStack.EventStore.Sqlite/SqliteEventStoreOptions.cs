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

    /// <summary>
    /// How many Linux nice steps above the process's priority the writer thread runs (0 to 20; 0 = the process's):
    /// the log's one serial stage comes before the request threads when the cores are full. Raising a thread needs
    /// CAP_SYS_NICE or a RLIMIT_NICE that allows it; without, the writer runs at the process's priority
    /// (docs/event-store.md, "The writer first").
    /// </summary>
    public int WriterPriority { get; init; } = DefaultWriterPriority;

    /// <summary>
    /// The size the WAL file is cut back to when it restarts (<c>PRAGMA journal_size_limit</c>, bytes). Under a sustained
    /// load the readers always hold a snapshot, checkpoints rarely complete, and the WAL grew past a gigabyte in a
    /// minute's burst (BENCHMARKS.md, "The writer first"); without a limit SQLite keeps the file at its largest.
    /// </summary>
    public long WalSizeLimit { get; init; } = 64L << 20;

    /// <summary>Ten steps: the same distance the background projection runners keep below the process.</summary>
    public const int DefaultWriterPriority = 10;
}
