using System.Reflection;
using System.Text;

namespace AgentStack.Projections.Analytics;

/// <summary>
/// The analytics DDL, kept as plain ClickHouse SQL in <c>Analytics/Schema/*.sql</c> (embedded) so the
/// same files run on chDB and on a ClickHouse server. Scripts run in file-name order; every statement
/// must be idempotent (<c>IF NOT EXISTS</c>), because this runs at every start.
/// </summary>
public static class AnalyticsSchema
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
    public static async Task ApplyAsync(IAnalyticsStore store, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        foreach (var (name, sql) in Scripts())
        {
            foreach (var statement in Statements(sql))
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

    private static string Read(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Embedded schema script '{resource}' is missing.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
