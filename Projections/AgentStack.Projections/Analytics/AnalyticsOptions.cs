namespace AgentStack.Projections.Analytics;

/// <summary>Which analytics engine the process uses, bound from <c>AgentStack:Analytics</c> (issue 4).</summary>
public sealed class AnalyticsOptions
{
    public const string SectionName = "AgentStack:Analytics";
    public const string ConnectionStringName = "ClickHouse";

    /// <summary><see cref="AnalyticsProvider.ChDb"/> (default, in-process) or <see cref="AnalyticsProvider.ClickHouse"/> (a server).</summary>
    public AnalyticsProvider Provider { get; set; } = AnalyticsProvider.ChDb;

    /// <summary>
    /// A ClickHouse cluster name (from the server's <c>remote_servers</c>). When set, the schema is created
    /// <c>ON CLUSTER</c> with replicated local tables behind Distributed tables (<see cref="AnalyticsSchema.ForCluster"/>).
    /// Empty: plain tables on one server.
    /// </summary>
    public string? Cluster { get; set; }
}

public enum AnalyticsProvider
{
    ChDb,
    ClickHouse,
}
