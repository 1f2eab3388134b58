using System.Globalization;
using System.Text;
using AgentStack.Projections.Analytics;
using AgentStack.Projections.Spans;

namespace AgentStack.Projections.Retention;

/// <summary>
/// Retention in the analytics tables (issue 17.3, docs/retention.md): <c>spans</c> and <c>traces</c> carry the
/// project's retention in <c>retention_days</c> and a ClickHouse TTL deletes a row once its span (its trace's
/// earliest span) started that many days ago. Rows are written with the policy by the projection; these statements
/// upgrade tables created before the column existed, bring rows written under another policy in line, and have
/// ClickHouse apply the TTL now rather than at its next merge.
/// </summary>
public static class RetentionTables
{
    public const string Column = "retention_days";
    /// <summary>
    /// When a row goes: its start plus its policy, computed in DateTime64 and capped below the end of DateTime
    /// (2106-02-07), which a TTL must be. Computed in DateTime, a policy reaching past that end (36,500 days are
    /// allowed) wrapped round to 1970 and expired every row at once.
    /// </summary>
    public const string Ttl = $"toDateTime({End}) WHERE retention_days > 0";

    private const string End = "least(start_time + toIntervalDay(retention_days), toDateTime64('2106-01-01 00:00:00', 6, 'UTC'))";

    /// <summary>The TTL of tables made before the cap, brought to <see cref="Ttl"/> at start.</summary>
    private const string WrappingTtl = "toDateTime(start_time) + toIntervalDay(retention_days)";
    private static readonly string[] Tables = ["spans", "traces"];

    // The detectors' rows may quote a payload (a finding's reason, the masked kind and where): deleted with their span.
    private static readonly string[] FindingTables = ["agentstack.findings", "agentstack.security_findings"];

    /// <summary>
    /// Tables of a data directory from before issue 17.3 get the column and the TTL (the schema scripts only create
    /// missing tables). Every existing row keeps 0 (kept); the retention worker brings them in line with a policy.
    /// </summary>
    public static async Task UpgradeAsync(IAnalyticsStore analytics, string? cluster, CancellationToken ct, string database = "agentstack")
    {
        ArgumentNullException.ThrowIfNull(analytics);
        foreach (var table in Tables)
        {
            var local = cluster is null ? table : table + "_local";
            var on = cluster is null ? "" : $" ON CLUSTER `{cluster}`";
            var wrapping = await ScalarAsync(analytics,
                $"SELECT count() FROM system.tables WHERE database = '{database}' AND name = '{local}' " +
                $"AND position(engine_full, '{WrappingTtl}') > 0", ct);
            if (wrapping > 0)
                await analytics.ExecuteAsync($"ALTER TABLE {database}.{local}{on} MODIFY TTL {Ttl}", null, ct);
            var missing = await ScalarAsync(analytics,
                $"SELECT count() FROM system.tables WHERE database = '{database}' AND name = '{local}' " +
                $"AND name NOT IN (SELECT table FROM system.columns WHERE database = '{database}' AND name = '{Column}')", ct);
            if (missing == 0)
                continue;
            var type = table == "spans" ? "UInt16" : "SimpleAggregateFunction(max, UInt16)";
            await analytics.ExecuteAsync($"ALTER TABLE {database}.{local}{on} ADD COLUMN IF NOT EXISTS {Column} {type} DEFAULT 0", null, ct);
            if (cluster is not null)
                await analytics.ExecuteAsync($"ALTER TABLE {database}.{table}{on} ADD COLUMN IF NOT EXISTS {Column} {type} DEFAULT 0", null, ct);
            await analytics.ExecuteAsync($"ALTER TABLE {database}.{local}{on} MODIFY TTL {Ttl}", null, ct);
        }
    }

    /// <summary>
    /// Applies <paramref name="days"/> to the project's rows: counts those past it (spans once per span, traces once
    /// per trace), sets <c>retention_days</c> on every row that holds another value (rows written before the policy
    /// changed, or by a projection that had not seen it yet), then <c>MATERIALIZE TTL</c> in the <c>spans</c>
    /// partitions (months) that held expired rows, and in <c>traces</c>. ClickHouse deletes expired rows at merges
    /// anyway (and may at the column's mutation already); this makes the deletion prompt and the figures exact.
    /// Mutations run only when there is something to change, and wait for it (the worker runs this, not a request).
    /// The detectors' rows (<c>findings</c>, <c>security_findings</c>) have no TTL: those detected as many days ago are
    /// deleted by a mutation, and counted as <c>Findings</c>.
    /// </summary>
    public static async Task<(long Spans, long Traces, long Findings)> ApplyAsync(IAnalyticsStore analytics, string? cluster, string project, int days,
        CancellationToken ct)
    {
        var (spans, traces) = await ApplyAsync(analytics, cluster, SpansTables.Current, project, days, ct);
        var parameters = new Dictionary<string, object?> { ["project"] = project, ["days"] = days };
        var findings = 0L;
        var detected = days > 0 ? "detected_at + toIntervalDay({days:UInt16}) <= now()" : "0";
        foreach (var table in FindingTables)
        {
            var expired = await ScalarAsync(analytics,
                $"SELECT count() FROM {table} FINAL WHERE project = {{project:String}} AND {detected}", ct, parameters);
            if (expired == 0)
                continue;
            await analytics.ExecuteAsync(
                $"ALTER TABLE {Target(table, cluster)} DELETE WHERE project = {{project:String}} AND {detected} SETTINGS mutations_sync = 2",
                parameters, ct);
            findings += expired;
        }
        return (spans, traces, findings);
    }

    /// <summary>
    /// The part of <see cref="ApplyAsync(IAnalyticsStore, string?, string, int, CancellationToken)"/> on <c>spans</c> and
    /// <c>traces</c>, in <paramref name="tables"/>: the current ones, or a rebuild's new ones before they replace them.
    /// </summary>
    public static async Task<(long Spans, long Traces)> ApplyAsync(IAnalyticsStore analytics, string? cluster, SpansTables tables,
        string project, int days, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(analytics);
        ArgumentNullException.ThrowIfNull(tables);
        var parameters = new Dictionary<string, object?> { ["project"] = project, ["days"] = days };
        var past = days > 0 ? "start_time + toIntervalDay({days:UInt16}) <= now64(6)" : "0";
        var spans = await ScalarAsync(analytics,
            $"SELECT count() FROM (SELECT DISTINCT trace_id, span_id FROM {tables.Spans} WHERE project = {{project:String}} AND {past})", ct, parameters);
        var traces = await ScalarAsync(analytics,
            $"SELECT count() FROM (SELECT DISTINCT trace_id FROM {tables.Traces} WHERE project = {{project:String}} AND {past})", ct, parameters);
        var partitions = spans == 0 ? [] : Encoding.UTF8.GetString(await analytics.QueryAsync(
            $"SELECT DISTINCT _partition_id FROM {tables.Spans} WHERE project = {{project:String}} AND {past}",
            parameters, "TabSeparated", ct)).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        foreach (var table in tables.All)
        {
            var other = await ScalarAsync(analytics,
                $"SELECT count() FROM {table} WHERE project = {{project:String}} AND {Column} != {{days:UInt16}}", ct, parameters);
            if (other > 0)
                await analytics.ExecuteAsync($$"""
                    ALTER TABLE {{Target(table, cluster)}} UPDATE {{Column}} = {days:UInt16}
                    WHERE project = {project:String} AND {{Column}} != {days:UInt16}
                    SETTINGS mutations_sync = 2
                    """, parameters, ct);
        }
        foreach (var partition in partitions)
            await analytics.ExecuteAsync(
                $"ALTER TABLE {Target(tables.Spans, cluster)} MATERIALIZE TTL IN PARTITION ID '{partition.Replace("'", "", StringComparison.Ordinal)}' SETTINGS mutations_sync = 2",
                null, ct);
        if (traces > 0)
            await analytics.ExecuteAsync($"ALTER TABLE {Target(tables.Traces, cluster)} MATERIALIZE TTL SETTINGS mutations_sync = 2", null, ct);
        return (spans, traces);
    }

    /// <summary>Where an ALTER of <paramref name="table"/> (<c>database.name</c>) goes, on a cluster or not.</summary>
    private static string Target(string table, string? cluster)
    {
        var dot = table.IndexOf('.', StringComparison.Ordinal);
        return AnalyticsSchema.AlterTarget(table[(dot + 1)..], cluster, table[..dot]);
    }

    private static async Task<long> ScalarAsync(IAnalyticsStore analytics, string sql, CancellationToken ct,
        IReadOnlyDictionary<string, object?>? parameters = null)
    {
        var text = Encoding.UTF8.GetString(await analytics.QueryAsync(sql, parameters, "TabSeparated", ct)).Trim();
        return text.Length == 0 ? 0 : long.Parse(text, CultureInfo.InvariantCulture);
    }
}
