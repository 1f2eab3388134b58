using System.Buffers;
using System.Text.Json;
using AgentStack.Events;
using AgentStack.Events.Anomalies;
using AgentStack.Events.Security;
using AgentStack.Projections.Analytics;
using AgentStack.Projections.Running;
using AgentStack.Projections.Spans;

namespace AgentStack.Projections.Findings;

/// <summary>
/// Fills <c>findings</c> (Analytics/Schema/050) with one row per finding event of the log (issue 15.5): the
/// detections over recorded spans, the guard's blocks and the anomalies, which the findings endpoints, the
/// trace list's <c>?finding=</c> filter and the Time Machine read. A row is a pure function of its event and
/// keyed by the event's log position, so a re-applied batch or a rebuild from 0 gives the same rows.
/// </summary>
public sealed class FindingsProjection(IAnalyticsStore analytics) : IProjection
{
    public const string ProjectionName = "findings";

    public string Name => ProjectionName;

    /// <summary>Only finding events: the spans among a batch's events come without their data.</summary>
    public EventDataScope Reads => EventDataScope.AllButSpans;

    /// <summary>The row of a finding event, or null for any other event.</summary>
    public static FindingRecord? ToRecord(StoredEvent stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        return stored.Type switch
        {
            EventTypes.DetectionRecorded when EventTypes.Deserialize(stored.Type, stored.Data) is DetectionRecorded d =>
                new FindingRecord(d.Project, stored.Position, d.SourcePosition, d.TraceId, d.SpanId, d.Kind, d.Rule, d.Severity, d.Score,
                    d.Reason, d.Field, d.Start, d.Length, "flag", d.Detector, d.DetectorVersion, d.DetectedAt),
            EventTypes.GuardBlocked when EventTypes.Deserialize(stored.Type, stored.Data) is GuardBlocked g =>
                // A guard check is not part of a recorded trace: no trace, span or step. docs/anomalies-and-alerts.md counts a
                // block as high severity.
                new FindingRecord(g.Project, stored.Position, 0, "", "", "prompt_injection", "guard", "high", g.Score,
                    g.Findings.MaxBy(f => f.Score)?.Reason ?? "blocked", g.Role,
                    g.Findings.MaxBy(f => f.Score)?.Start ?? 0, g.Findings.MaxBy(f => f.Score)?.Length ?? 0,
                    "block", g.Detector, g.DetectorVersion, g.BlockedAt),
            AnomalyDetected.TypeName when EventTypes.Deserialize(stored.Type, stored.Data) is AnomalyDetected a =>
                new FindingRecord(a.Project, stored.Position, 0, a.TraceId, a.SpanId, "anomaly", a.Metric, a.Severity, a.Score,
                    a.Reason, $"{a.Dimension}:{a.Key}", 0, 0, "flag", a.Detector, a.DetectorVersion, a.ObservedAt),
            _ => null,
        };
    }

    public async Task ApplyAsync(IReadOnlyList<StoredEvent> batch, CancellationToken cancellationToken)
    {
        var rows = new ArrayBufferWriter<byte>();
        foreach (var stored in batch)
        {
            if (ToRecord(stored) is not { } f)
                continue;
            using (var w = new Utf8JsonWriter(rows))
            {
                w.WriteStartObject();
                w.WriteString("project", f.Project);
                w.WriteNumber("position", f.Position);
                w.WriteNumber("source_position", f.SourcePosition);
                w.WriteString("trace_id", f.TraceId);
                w.WriteString("span_id", f.SpanId);
                w.WriteString("kind", f.Kind);
                w.WriteString("rule", f.Rule);
                w.WriteString("severity", f.Severity);
                w.WriteNumber("score", f.Score);
                w.WriteString("reason", f.Reason);
                w.WriteString("field", f.Field);
                w.WriteNumber("start", f.Start);
                w.WriteNumber("length", f.Length);
                w.WriteString("action", f.Action);
                w.WriteString("detector", f.Detector);
                w.WriteString("detector_version", f.DetectorVersion);
                w.WriteString("detected_at", SpansProjection.ClickHouseTime(f.DetectedAt));
                w.WriteEndObject();
            }
            rows.Write("\n"u8);
        }
        if (rows.WrittenCount > 0)
            await analytics.InsertJsonEachRowAsync("agentstack.findings", rows.WrittenMemory, cancellationToken);
    }
}

/// <summary>One row of <c>findings</c>: what was found, where (trace, span, field, offsets, the span event's log position) and by which detector.</summary>
public sealed record FindingRecord(string Project, long Position, long SourcePosition, string TraceId, string SpanId, string Kind, string Rule,
    string Severity, double Score, string Reason, string Field, int Start, int Length, string Action, string Detector, string DetectorVersion,
    DateTimeOffset DetectedAt);
