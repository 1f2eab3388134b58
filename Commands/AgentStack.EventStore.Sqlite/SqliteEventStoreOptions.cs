using AgentStack.EventStore.Common;

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
    /// Most bytes of event data in one transaction: a group stops taking calls once it holds this much (a single call
    /// over it gets a group of its own). Bounds what a group holds in memory and, on PostgreSQL, keeps its one INSERT
    /// under the server's 1 GB limit on a message.
    /// </summary>
    public long MaxBatchBytes { get; init; } = GroupCommitQueue.DefaultMaxBatchBytes;

    /// <summary>
    /// How many Linux nice steps above the process's priority the writer thread runs (0 to 20; 0 = the process's):
    /// the log's one serial stage comes before the request threads when the cores are full. Raising a thread needs
    /// CAP_SYS_NICE or a RLIMIT_NICE that allows it; without, the writer runs at the process's priority
    /// (docs/event-store.md, "The writer first").
    /// </summary>
    public int WriterPriority { get; init; } = DefaultWriterPriority;

    /// <summary>
    /// The size the WAL file is cut back to when it restarts (<c>PRAGMA journal_size_limit</c>, bytes); null (the default)
    /// for <see cref="WalRestartSize"/>. A WAL kept at the size it restarts at is overwritten in place: its pages stay in
    /// the page cache, and the writer's appends to it neither allocate pages nor zero the rest of the pages its
    /// 24-byte frame headers begin, which was a fifth of the writer's time with the file cut back to 64 MiB
    /// (docs/event-store.md, "The WAL's size"). Without a limit SQLite keeps the file at its largest.
    /// </summary>
    public long? WalSizeLimit { get; init; }

    /// <summary>
    /// What <c>journal_size_limit</c> is set to: <see cref="WalSizeLimit"/>, else <see cref="WalRestartSize"/>, and never
    /// more than that: the writer reads the WAL file's length to know when to restart it, and a file kept longer than the
    /// restart size would ask for a restart at every group.
    /// </summary>
    public long WalKeptSize => Math.Min(WalSizeLimit ?? WalRestartSize, WalRestartSize);

    /// <summary>
    /// The WAL's size past which the writer restarts it between two groups (a RESTART checkpoint that waits up to 100 ms
    /// for the readers of older snapshots), bytes, at least 1 MiB. Each try holds the writer up while readers finish:
    /// at 64 MiB the peak's spans/s fell by 8% (geometric mean of six A/B pairs), so the default only bounds a WAL that
    /// has run far (docs/event-store.md, "The WAL's size").
    /// </summary>
    public long WalRestartSize { get; init; } = DefaultWalRestartSize;

    /// <summary>
    /// How many bytes at the end of <c>events.db</c> the page cache keeps; after every checkpoint the pages before them,
    /// read back since or not, are handed back to the kernel (<c>posix_fadvise</c> DONTNEED). Null leaves the cache to
    /// the kernel. A log that only grows takes a new page of memory for every page it writes; on a virtual machine that
    /// reports free memory to its host, writing such a page first faults in the host, and dropping the pages behind
    /// lets the next writes take recycled ones (docs/event-store.md, "The page cache behind the log"). Readers of older
    /// events read them from the disk.
    /// </summary>
    public long? CachedTail { get; init; } = DefaultCachedTail;

    /// <summary>
    /// 64 MiB, about a second of the log at the peak, about what the projections' shared buffer of opened events
    /// holds (BENCHMARKS.md, "Twenty-third sitting: the page cache behind the log").
    /// </summary>
    public const long DefaultCachedTail = 64L << 20;

    /// <summary>1 GiB: without a bound the WAL reached 0.6-1.9 GB in 50 s of peak load.</summary>
    public const long DefaultWalRestartSize = 1L << 30;

    /// <summary>
    /// The page size of a new <c>events.db</c> (<c>PRAGMA page_size</c>, bytes, a power of two from 4096 to 65536).
    /// A span's event is about 2 KB sealed: two do not fit in SQLite's default 4 KB page, so every event took a page of
    /// its own and half of every byte written to the WAL, fsync'd and checkpointed was the page's empty rest
    /// (docs/event-store.md, "Pages"). A file keeps the size it was created with: this applies to new files only.
    /// </summary>
    public int PageSize { get; init; } = DefaultPageSize;

    /// <summary>Ten steps: the same distance the background projection runners keep below the process.</summary>
    public const int DefaultWriterPriority = 10;

    /// <summary>
    /// 8 KB: three 2 KB events a page instead of one in 4 KB. 16 KB measured the same and 64 KB less (a group's random
    /// stream-index entries dirty whole pages): BENCHMARKS.md, "Pages".
    /// </summary>
    public const int DefaultPageSize = 8192;

    public const int MinPageSize = 4096;

    public const int MaxPageSize = 65536;

    /// <summary>Whether SQLite takes <paramref name="bytes"/> as a page size this store allows.</summary>
    public static bool IsPageSize(int bytes) => bytes is >= MinPageSize and <= MaxPageSize && int.IsPow2(bytes);
}
