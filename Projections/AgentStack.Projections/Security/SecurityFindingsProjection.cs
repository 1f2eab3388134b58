using System.Buffers;
using System.Text.Json;
using AgentStack.Events;
using AgentStack.Events.Security;
using AgentStack.Projections.Analytics;
using AgentStack.Projections.Running;
using AgentStack.Projections.Spans;

namespace AgentStack.Projections.Security;

/// <summary>
/// Fills <c>security_findings</c> (Analytics/Schema/040) from the security events of the log (issue 15):
/// today the guard's blocks (<c>guard.blocked.v1</c>), one row each, keyed by the event's log position, so
/// re-applying a batch or rebuilding from 0 collapses to the same rows (read with FINAL).
/// </summary>
public sealed class SecurityFindingsProjection(IAnalyticsStore analytics) : IProjection
{
    public const string ProjectionName = "security-findings";

    public string Name => ProjectionName;

    public async Task ApplyAsync(IReadOnlyList<StoredEvent> batch, CancellationToken cancellationToken)
    {
        var rows = new ArrayBufferWriter<byte>();
        foreach (var stored in batch)
        {
            if (stored.Type != EventTypes.GuardBlocked || EventTypes.Deserialize(stored.Type, stored.Data) is not GuardBlocked blocked)
                continue;
            using (var w = new Utf8JsonWriter(rows))
            {
                w.WriteStartObject();
                w.WriteString("project", blocked.Project);
                w.WriteString("trace_id", "");
                w.WriteString("span_id", $"guard-{stored.Position}");
                w.WriteString("kind", "prompt_injection");
                w.WriteString("action", "block");
                w.WriteNumber("score", blocked.Score);
                w.WriteString("reason", $"guard ({blocked.Role}): " + (blocked.Findings.MaxBy(f => f.Score)?.Reason ?? "blocked"));
                w.WriteString("detected_at", SpansProjection.ClickHouseTime(blocked.BlockedAt));
                w.WriteNumber("position", stored.Position);
                w.WriteEndObject();
            }
            rows.Write("\n"u8);
        }
        if (rows.WrittenCount > 0)
            await analytics.InsertJsonEachRowAsync("agentstack.security_findings", rows.WrittenMemory, cancellationToken);
    }
}
