using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using AgentStack.Projections.Analytics;
using AgentStack.Projections.Spans;

namespace AgentStack.Projections.Running;

/// <summary>
/// Checkpoints kept in ClickHouse itself, next to the rows they describe. The table replaces by
/// position and reads take the maximum, so a late write of an older position (a worker that lost its
/// lease finishing a batch) cannot move a checkpoint back.
/// </summary>
public sealed class AnalyticsCheckpointStore(IAnalyticsStore analytics, TimeProvider clock) : ICheckpointStore
{
    public async Task<IReadOnlyDictionary<string, long>> LoadAsync(IReadOnlyCollection<string> names, CancellationToken cancellationToken)
    {
        var positions = names.ToDictionary(n => n, _ => 0L, StringComparer.Ordinal);
        var result = await analytics.QueryAsync(
            "SELECT name, max(position) FROM agentstack.projection_checkpoints FINAL WHERE name IN {names:Array(String)} GROUP BY name",
            new Dictionary<string, object?> { ["names"] = names.ToArray() }, "TabSeparated", cancellationToken);
        foreach (var line in Encoding.UTF8.GetString(result).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var tab = line.IndexOf('\t', StringComparison.Ordinal);
            positions[line[..tab]] = long.Parse(line.AsSpan(tab + 1), CultureInfo.InvariantCulture);
        }
        return positions;
    }

    public Task SaveAsync(IReadOnlyDictionary<string, long> checkpoints, CancellationToken cancellationToken)
    {
        var rows = new ArrayBufferWriter<byte>(checkpoints.Count * 96);
        var at = SpansProjection.ClickHouseTime(clock.GetUtcNow());
        foreach (var (name, position) in checkpoints)
        {
            using (var writer = new Utf8JsonWriter(rows))
            {
                writer.WriteStartObject();
                writer.WriteString("name", name);
                writer.WriteNumber("position", position);
                writer.WriteString("updated_at", at);
                writer.WriteEndObject();
            }
            rows.Write("\n"u8);
        }
        return analytics.InsertJsonEachRowAsync("agentstack.projection_checkpoints", rows.WrittenMemory, cancellationToken);
    }
}
