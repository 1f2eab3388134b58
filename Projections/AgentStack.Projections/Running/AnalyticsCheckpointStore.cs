using System.Globalization;
using System.Text;
using AgentStack.Projections.Analytics;

namespace AgentStack.Projections.Running;

/// <summary>Checkpoints kept in ClickHouse itself, next to the rows they describe.</summary>
public sealed class AnalyticsCheckpointStore(IAnalyticsStore analytics, TimeProvider clock) : ICheckpointStore
{
    public async Task<long> LoadAsync(string projection, CancellationToken cancellationToken)
    {
        var result = await analytics.QueryAsync(
            "SELECT max(position) FROM agentstack.projection_checkpoints FINAL WHERE name = {name:String}",
            new Dictionary<string, object?> { ["name"] = projection }, "TabSeparated", cancellationToken);
        var text = Encoding.UTF8.GetString(result).Trim();
        return text.Length == 0 ? 0 : long.Parse(text, CultureInfo.InvariantCulture);
    }

    public Task SaveAsync(string projection, long position, CancellationToken cancellationToken) =>
        analytics.ExecuteAsync(
            "INSERT INTO agentstack.projection_checkpoints (name, position, updated_at) VALUES ({name:String}, {position:UInt64}, {at:DateTime64(6)})",
            new Dictionary<string, object?> { ["name"] = projection, ["position"] = position, ["at"] = clock.GetUtcNow() },
            cancellationToken);
}
