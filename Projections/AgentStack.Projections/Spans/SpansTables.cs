using System.Globalization;

namespace AgentStack.Projections.Spans;

/// <summary>
/// The tables one version of the spans projection writes. Queries always read <see cref="Current"/>;
/// a rebuild (issue 14.6) fills a numbered version beside it, then swaps each pair with
/// <c>EXCHANGE TABLES</c>, so readers never see a half-built table (docs/projections.md).
/// </summary>
public sealed record SpansTables(string Spans, string Traces)
{
    public const string Database = "agentstack";

    public static readonly SpansTables Current = new($"{Database}.spans", $"{Database}.traces");

    /// <summary>The rebuild target <paramref name="version"/>: <c>spans_v{n}</c> and <c>traces_v{n}</c>.</summary>
    public static SpansTables Version(long version) => new(
        string.Create(CultureInfo.InvariantCulture, $"{Database}.spans_v{version}"),
        string.Create(CultureInfo.InvariantCulture, $"{Database}.traces_v{version}"));

    public IEnumerable<string> All => [Spans, Traces];
}

/// <summary>The DDL of a version of the spans projection's tables, from the one SQL source (Analytics/Schema).</summary>
public static partial class SpansSchema
{
    /// <summary>The CREATE statements of 010_spans.sql and 020_traces.sql, naming <paramref name="tables"/> instead.</summary>
    public static IReadOnlyList<string> CreateStatements(SpansTables tables)
    {
        ArgumentNullException.ThrowIfNull(tables);
        return Analytics.AnalyticsSchema.Scripts()
            .Where(s => s.Name is "010_spans.sql" or "020_traces.sql")
            .SelectMany(s => Analytics.AnalyticsSchema.Statements(s.Sql))
            .Select(statement => TableName().Replace(statement, m => "CREATE TABLE IF NOT EXISTS " +
                (m.Groups["table"].Value == "spans" ? tables.Spans : tables.Traces)))
            .ToList();
    }

    public static async Task CreateAsync(Analytics.IAnalyticsStore analytics, SpansTables tables, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(analytics);
        foreach (var statement in CreateStatements(tables))
            await analytics.ExecuteAsync(statement, null, cancellationToken);
    }

    /// <summary>The merge setting the schema gives these tables (010_spans.sql), for the current tables of an older data directory.</summary>
    public const string MergeSetting = "merge_selector_base = 16";

    /// <summary>
    /// Brings <see cref="MergeSetting"/> to tables created before it (the schema only creates missing tables): a metadata
    /// change, instant and idempotent. On a cluster the local tables hold the data, so they get it.
    /// </summary>
    public static async Task TuneMergesAsync(Analytics.IAnalyticsStore analytics, string? cluster, CancellationToken cancellationToken,
        string database = SpansTables.Database)
    {
        ArgumentNullException.ThrowIfNull(analytics);
        foreach (var table in new[] { "spans", "traces" })
            await analytics.ExecuteAsync($"ALTER TABLE {Analytics.AnalyticsSchema.AlterTarget(table, cluster, database)} MODIFY SETTING {MergeSetting}",
                null, cancellationToken);
    }

    public static async Task DropAsync(Analytics.IAnalyticsStore analytics, SpansTables tables, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(analytics);
        ArgumentNullException.ThrowIfNull(tables);
        foreach (var table in tables.All)
            await analytics.ExecuteAsync($"DROP TABLE IF EXISTS {table}", null, cancellationToken);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"CREATE TABLE IF NOT EXISTS agentstack\.(?<table>spans|traces)\b")]
    private static partial System.Text.RegularExpressions.Regex TableName();
}
