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
/// the guard's blocks (<c>guard.blocked.v1</c>) and the detections over recorded spans
/// (<c>detection.recorded.v1</c>, action <c>flag</c>), one row each, keyed by the event's log position, so
/// re-applying a batch or rebuilding from 0 collapses to the same rows (read with FINAL). A detection row
/// carries its detector's name and version (issue 15.6); a guard block carries none: it counts whichever
/// version blocked.
/// </summary>
public sealed class SecurityFindingsProjection(IAnalyticsStore analytics) : IProjection
{
    public const string ProjectionName = "security-findings";

    public string Name => ProjectionName;

    /// <summary>Only finding events: the spans among a batch's events come without their data.</summary>
    public EventDataScope Reads => EventDataScope.AllButSpans;

    private static void WriteRow(Utf8JsonWriter w, string project, string trace, string span, string kind, string action, double score,
        string reason, DateTimeOffset at, long position, string detector, string detectorVersion)
    {
        w.WriteStartObject();
        w.WriteString("project", project);
        w.WriteString("trace_id", trace);
        w.WriteString("span_id", span);
        w.WriteString("kind", kind);
        w.WriteString("action", action);
        w.WriteNumber("score", score);
        w.WriteString("reason", reason);
        w.WriteString("detected_at", SpansProjection.ClickHouseTime(at));
        w.WriteNumber("position", position);
        w.WriteString("detector", detector);
        w.WriteString("detector_version", detectorVersion);
        w.WriteEndObject();
    }

    public async Task ApplyAsync(IReadOnlyList<StoredEvent> batch, CancellationToken cancellationToken)
    {
        var rows = new ArrayBufferWriter<byte>();
        foreach (var stored in batch)
        {
            if (stored.Type == EventTypes.DetectionRecorded && EventTypes.Deserialize(stored.Type, stored.Data) is DetectionRecorded d)
            {
                using (var w = new Utf8JsonWriter(rows))
                    WriteRow(w, d.Project, d.TraceId, d.SpanId, d.Kind, "flag", d.Score, $"{d.Field}: {d.Reason}", d.DetectedAt, stored.Position,
                        d.Detector, d.DetectorVersion);
                rows.Write("\n"u8);
                continue;
            }
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
