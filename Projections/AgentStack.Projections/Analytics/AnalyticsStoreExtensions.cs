using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace AgentStack.Projections.Analytics;

public static class AnalyticsStoreExtensions
{
    /// <summary>Runs a query in JSONEachRow and deserialises each line into <typeparamref name="T"/>.</summary>
    public static async Task<List<T>> QueryRowsAsync<T>(this IAnalyticsStore analytics, string sql,
        IReadOnlyDictionary<string, object?>? parameters, JsonTypeInfo<T> rowType, CancellationToken cancellationToken)
    {
        var bytes = await analytics.QueryAsync(sql, parameters, "JSONEachRow", cancellationToken);
        var rows = new List<T>();
        var remaining = bytes.AsMemory();
        while (remaining.Length > 0)
        {
            var end = remaining.Span.IndexOf((byte)'\n');
            var line = end < 0 ? remaining : remaining[..end];
            remaining = end < 0 ? default : remaining[(end + 1)..];
            if (line.Length > 0)
                rows.Add(JsonSerializer.Deserialize(line.Span, rowType)!);
        }
        return rows;
    }
}
