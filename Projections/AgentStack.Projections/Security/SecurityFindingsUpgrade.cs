using AgentStack.Projections.Analytics;

namespace AgentStack.Projections.Security;

/// <summary>
/// Data directories written before issue 15.6 hold <c>security_findings</c> without <c>detector</c> and
/// <c>detector_version</c>. After the schema scripts (whose <c>CREATE TABLE IF NOT EXISTS</c> leaves an
/// existing table as it is), both columns are added and the version appended to the sorting key, in one
/// ALTER, which ClickHouse allows for columns added by the same statement. Old rows read as version ''.
/// </summary>
public static class SecurityFindingsUpgrade
{
    public static async Task ApplyAsync(IAnalyticsStore analytics, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(analytics);
        var current = await analytics.QueryAsync(
            "SELECT name FROM system.columns WHERE database = 'agentstack' AND table = 'security_findings' AND name = 'detector_version'",
            null, "TabSeparated", cancellationToken);
        if (current.Length > 0)
            return;
        await analytics.ExecuteAsync("""
            ALTER TABLE agentstack.security_findings
                ADD COLUMN IF NOT EXISTS detector LowCardinality(String) DEFAULT '',
                ADD COLUMN IF NOT EXISTS detector_version LowCardinality(String) DEFAULT '',
                MODIFY ORDER BY (project, kind, trace_id, span_id, detector_version)
            """, null, cancellationToken);
    }
}
