using AgentStack.Projections.Analytics;

namespace AgentStack.Projections.Security;

/// <summary>
/// Data directories written before issue 15.6 hold <c>security_findings</c> without <c>detector</c> and
/// <c>detector_version</c>. After the schema scripts (whose <c>CREATE TABLE IF NOT EXISTS</c> leaves an
/// existing table as it is), both columns are added and the version appended to the sorting key, in one
/// ALTER, which ClickHouse allows for columns added by the same statement and without a default expression
/// (a String's implicit default is '' anyway). Old rows read as version ''.
/// </summary>
public static class SecurityFindingsUpgrade
{
    public static Task ApplyAsync(IAnalyticsStore analytics, CancellationToken cancellationToken) =>
        ApplyAsync(analytics, "agentstack", cancellationToken);

    /// <summary>Upgrades <c>{database}.security_findings</c> if it lacks the version; <paramref name="database"/> is a plain name.</summary>
    public static async Task ApplyAsync(IAnalyticsStore analytics, string database, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(analytics);
        var table = await analytics.QueryAsync(
            "SELECT name FROM system.tables WHERE database = {database:String} AND name = 'security_findings'",
            new Dictionary<string, object?> { ["database"] = database }, "TabSeparated", cancellationToken);
        var current = await analytics.QueryAsync(
            "SELECT name FROM system.columns WHERE database = {database:String} AND table = 'security_findings' AND name = 'detector_version'",
            new Dictionary<string, object?> { ["database"] = database }, "TabSeparated", cancellationToken);
        if (table.Length == 0 || current.Length > 0)
            return;
        await analytics.ExecuteAsync($"""
            ALTER TABLE {database}.security_findings
                ADD COLUMN IF NOT EXISTS detector LowCardinality(String),
                ADD COLUMN IF NOT EXISTS detector_version LowCardinality(String),
                MODIFY ORDER BY (project, kind, trace_id, span_id, detector_version)
            """, null, cancellationToken);
    }
}
