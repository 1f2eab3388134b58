using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;

namespace AgentStack.Projections.Analytics;

/// <summary>
/// The analytics DDL, kept as plain ClickHouse SQL in <c>Analytics/Schema/*.sql</c> (embedded) so the
/// same files run on chDB and on a ClickHouse server. Scripts run in file-name order; every statement
/// must be idempotent (<c>IF NOT EXISTS</c>), because this runs at every start.
/// </summary>
public static partial class AnalyticsSchema
{
    private const string ResourcePrefix = "AgentStack.Projections.Analytics.Schema.";

    /// <summary>The embedded scripts as (file name, SQL), ordered by name.</summary>
    public static IReadOnlyList<(string Name, string Sql)> Scripts()
    {
        var assembly = typeof(AnalyticsSchema).Assembly;
        return assembly.GetManifestResourceNames()
            .Where(name => name.StartsWith(ResourcePrefix, StringComparison.Ordinal) && name.EndsWith(".sql", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(name => (name[ResourcePrefix.Length..], Read(assembly, name)))
            .ToList();
    }

    /// <summary>
    /// Splits a script into statements at each <c>;</c> that ends a line. A ClickHouse server takes one
    /// statement per request, so the split happens here rather than relying on chDB's multi-statement
    /// parsing. Pieces holding only comments are dropped.
    /// </summary>
    public static IReadOnlyList<string> Statements(string script)
    {
        ArgumentNullException.ThrowIfNull(script);
        var statements = new List<string>();
        var current = new StringBuilder();
        foreach (var line in script.ReplaceLineEndings("\n").Split('\n'))
        {
            var trimmed = line.TrimEnd();
            if (trimmed.EndsWith(';'))
            {
                current.Append(trimmed.AsSpan(0, trimmed.Length - 1));
                Add(current.ToString());
                current.Clear();
            }
            else
            {
                current.Append(line).Append('\n');
            }
        }

        Add(current.ToString());
        return statements;

        void Add(string statement)
        {
            var hasCode = statement.Split('\n').Any(l => l.Trim() is { Length: > 0 } t && !t.StartsWith("--", StringComparison.Ordinal));
            if (hasCode)
            {
                statements.Add(statement.Trim());
            }
        }
    }

    /// <summary>Runs every statement of every embedded script, in order.</summary>
    public static Task ApplyAsync(IAnalyticsStore store, CancellationToken cancellationToken) =>
        ApplyAsync(store, cluster: null, cancellationToken);

    /// <summary>
    /// Runs every statement of every embedded script, in order; with a <paramref name="cluster"/>, each in
    /// its cluster form (<see cref="ForCluster"/>).
    /// </summary>
    public static async Task ApplyAsync(IAnalyticsStore store, string? cluster, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        foreach (var (name, sql) in Scripts())
        {
            foreach (var statement in Statements(sql).SelectMany(s => cluster is null ? [s] : ForCluster(s, cluster)))
            {
                try
                {
                    await store.ExecuteAsync(statement, null, cancellationToken);
                }
                catch (AnalyticsException e)
                {
                    throw new AnalyticsException($"Schema script {name} failed: {e.Message}", e.Code, e);
                }
            }
        }
    }

    /// <summary>
    /// The cluster form of one schema statement (issue 4), derived from the same .sql files so there is
    /// one source of truth:
    /// <list type="bullet">
    /// <item><c>CREATE DATABASE d</c> → <c>CREATE DATABASE d ON CLUSTER c</c>.</item>
    /// <item><c>CREATE TABLE d.t (…) ENGINE = XMergeTree(args) …</c> → a local table <c>d.t_local</c> on every
    /// node with <c>ReplicatedXMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', args)</c>
    /// (the server's <c>{shard}</c>/<c>{replica}</c> macros), and <c>d.t</c> as
    /// <c>Distributed(c, d, t_local, key)</c>, so every query and insert keeps using <c>d.t</c>.</item>
    /// </list>
    /// The sharding key is <c>cityHash64(trace_id)</c> where the table has a trace_id, so a trace's rows
    /// live on one shard; otherwise a hash of the sorting key. Either way every row that a
    /// ReplacingMergeTree may collapse lands on the same shard, so <c>FINAL</c> through the Distributed
    /// table stays correct. Any other statement is refused, so a new script cannot slip onto a cluster
    /// unreplicated.
    /// </summary>
    public static IReadOnlyList<string> ForCluster(string statement, string cluster)
    {
        ArgumentNullException.ThrowIfNull(statement);
        ValidateClusterName(cluster);
        var onCluster = $" ON CLUSTER `{cluster}`";
        var code = string.Join('\n', statement.ReplaceLineEndings("\n").Split('\n')
            .SkipWhile(l => l.TrimStart().StartsWith("--", StringComparison.Ordinal) || l.Trim().Length == 0));

        if (CreateDatabase().Match(code) is { Success: true } database)
        {
            return [code.Insert(database.Length, onCluster)];
        }

        if (CreateTable().Match(code) is not { Success: true } table)
        {
            throw new NotSupportedException(
                $"No cluster form for this schema statement; extend AnalyticsSchema.ForCluster for it:\n{code}");
        }

        var databaseName = table.Groups["database"].Value;
        var name = table.Groups["table"].Value;
        var rest = code[table.Length..];
        var engine = Engine().Match(rest);
        if (!engine.Success)
        {
            throw new NotSupportedException(
                $"Table {databaseName}.{name} does not use a MergeTree engine, which has no replicated form here:\n{code}");
        }

        var arguments = engine.Groups["args"].Value.Trim();
        var replicated = $"ENGINE = Replicated{engine.Groups["engine"].Value}('/clickhouse/tables/{{shard}}/{{database}}/{{table}}', '{{replica}}'" +
            (arguments.Length > 0 ? $", {arguments})" : ")");
        var local = $"{table.Value}_local{onCluster}{rest[..engine.Index]}{replicated}{rest[(engine.Index + engine.Length)..]}";

        string shardingKey;
        if (TraceIdColumn().IsMatch(rest[..engine.Index]))
        {
            shardingKey = "cityHash64(trace_id)";
        }
        else if (OrderBy().Match(rest) is { Success: true } orderBy)
        {
            var key = orderBy.Groups["key"].Value.Trim();
            shardingKey = $"cityHash64({(key.StartsWith('(') && key.EndsWith(')') ? key[1..^1] : key)})";
        }
        else
        {
            throw new NotSupportedException($"Table {databaseName}.{name} has neither trace_id nor ORDER BY to shard by:\n{code}");
        }

        var distributed = $"{table.Value}{onCluster} AS {databaseName}.{name}_local\n" +
            $"ENGINE = Distributed('{cluster}', {databaseName}, {name}_local, {shardingKey})";
        return [local, distributed];
    }

    /// <summary>
    /// Where an <c>ALTER</c> of <paramref name="table"/> goes: on a cluster the replicated local table behind the
    /// Distributed one (<see cref="ForCluster"/>), on every node; otherwise the table itself.
    /// </summary>
    public static string AlterTarget(string table, string? cluster, string database = "agentstack") =>
        cluster is { Length: > 0 } ? $"{database}.{table}_local ON CLUSTER `{cluster}`" : $"{database}.{table}";

    /// <summary>Cluster names go into DDL (<c>ON CLUSTER `name`</c>), so only plain names are accepted.</summary>
    public static void ValidateClusterName(string cluster)
    {
        if (string.IsNullOrEmpty(cluster) || !ClusterName().IsMatch(cluster))
        {
            throw new ArgumentException(
                $"Cluster name '{cluster}' (AgentStack:Analytics:Cluster) must be letters, digits, '_' or '-', starting with a letter or '_'.",
                nameof(cluster));
        }
    }

    [GeneratedRegex(@"^CREATE DATABASE (IF NOT EXISTS )?[A-Za-z_][A-Za-z0-9_]*")]
    private static partial Regex CreateDatabase();

    [GeneratedRegex(@"^CREATE TABLE (IF NOT EXISTS )?(?<database>[A-Za-z_][A-Za-z0-9_]*)\.(?<table>[A-Za-z_][A-Za-z0-9_]*)")]
    private static partial Regex CreateTable();

    [GeneratedRegex(@"ENGINE\s*=\s*(?<engine>[A-Za-z]*MergeTree)[ \t]*(\((?<args>[^)]*)\))?")]
    private static partial Regex Engine();

    [GeneratedRegex(@"^\s*trace_id\s", RegexOptions.Multiline)]
    private static partial Regex TraceIdColumn();

    [GeneratedRegex(@"^ORDER BY (?<key>.+)$", RegexOptions.Multiline)]
    private static partial Regex OrderBy();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_-]*\z")]
    private static partial Regex ClusterName();

    private static string Read(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Embedded schema script '{resource}' is missing.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
