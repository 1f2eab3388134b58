namespace AgentStack.Projections.Analytics.ChDb;

/// <summary>
/// Settings of the in-process ClickHouse engine, bound from <c>AgentStack:ChDb</c>.
/// The defaults cap chDB well below its own default of 90% of RAM (docs/environment.md):
/// the engine shares the process with the API and the projection workers.
/// </summary>
public sealed class ChDbOptions
{
    public const string SectionName = "AgentStack:ChDb";

    /// <summary>The data directory (<c>--path</c>). One process may use it at a time: ClickHouse locks <c>status</c> in it.</summary>
    public string DataPath { get; set; } = "";

    /// <summary>Path of libchdb.so; when empty, <see cref="ChDbLibrary"/> searches for it.</summary>
    public string? LibraryPath { get; set; }

    /// <summary>Server-wide memory cap (<c>--max_server_memory_usage</c>); only the connection that boots the engine applies it.</summary>
    public long MaxServerMemoryBytes { get; set; } = 1_000_000_000;

    /// <summary>Per-query memory cap (<c>--max_memory_usage</c>); a query over it fails with code 241 instead of growing the process.</summary>
    public long MaxMemoryUsageBytes { get; set; } = 800_000_000;

    /// <summary>Mark cache size (<c>--mark_cache_size</c>); ClickHouse's default of 5 GiB is meant for a dedicated server.</summary>
    public long MarkCacheSizeBytes { get; set; } = 268_435_456;

    /// <summary>Threads one query may use (<c>--max_threads</c>).</summary>
    public int MaxThreads { get; set; } = 2;

    /// <summary>
    /// Connections (each with its own thread) serving <see cref="IAnalyticsStore.QueryAsync"/>. Writes have
    /// a connection of their own, so a slow dashboard query never holds up a projection's insert.
    /// </summary>
    public int ReaderConnections { get; set; } = 2;

    /// <summary>
    /// How many nice steps below the process's priority chDB's merge threads run (<see cref="ChDbMergePriority"/>), 0 to
    /// 39 (Linux caps the result at 19); 0 leaves them at the process's. Merges are background work, and the default
    /// keeps their bursts from taking the cores from ingestion.
    /// </summary>
    public int MergeNice { get; set; } = 10;

    /// <summary>Further <c>--name=value</c> arguments passed to every connection (query-level settings or, for the first, server options).</summary>
    public IList<string> AdditionalArguments { get; } = [];
}
