using System.Text.Json.Serialization;

namespace AgentStack.Events.Anomalies;

/// <summary>
/// The anomaly projection (issue 15, point 3) found a value outside its baseline, or a loop in a trace.
/// Appended to <see cref="AnomalyStream"/> with a deterministic <paramref name="Id"/>, so a restart or a
/// rebuild never appends it twice. <paramref name="Dimension"/> is <c>agent</c> (root span name),
/// <c>model</c> or <c>tool</c>; <paramref name="Metric"/> is <c>latency_ms</c>, <c>cost_usd</c>,
/// <c>tokens</c>, <c>error_rate</c> or <c>loop</c>. <paramref name="Expected"/> is the baseline and
/// [<paramref name="ExpectedLow"/>, <paramref name="ExpectedHigh"/>] its band; <paramref name="Score"/> the
/// robust z-score. <paramref name="ObservedAt"/> is the span's end time (from the log, so a rebuild
/// writes the same bytes).
/// </summary>
public sealed record AnomalyDetected(
    string Id,
    string Project,
    string Dimension,
    string Key,
    string Metric,
    double Seen,
    double Expected,
    double ExpectedLow,
    double ExpectedHigh,
    double Score,
    string Severity,
    string TraceId,
    string SpanId,
    string Reason,
    DateTimeOffset ObservedAt,
    string Detector,
    string DetectorVersion)
{
    public const string TypeName = "anomaly.detected.v1";
}

/// <summary>An admin added an alert rule to a project (issue 15, point 7). Stored in <see cref="AlertRulesStream"/>.</summary>
public sealed record AlertRuleAdded(
    string RuleId,
    string Project,
    string Kind,
    string MinSeverity,
    int Threshold,
    int WindowSeconds,
    string? WebhookUrl,
    string? Secret,
    DateTimeOffset AddedAt,
    string AddedBy)
{
    public const string TypeName = "alert.rule.added.v1";
}

/// <summary>An admin removed an alert rule.</summary>
public sealed record AlertRuleRemoved(string RuleId, string Project, DateTimeOffset RemovedAt, string RemovedBy)
{
    public const string TypeName = "alert.rule.removed.v1";
}

public static class AnomalyStream
{
    /// <summary>One stream per project for its anomalies: <c>anomalies-{project}</c>.</summary>
    public static string Name(string project) => $"anomalies-{project}";
}

public static class AlertRulesStream
{
    /// <summary>Every project's alert rules, in one stream, so the dispatcher reads them in one go.</summary>
    public const string Name = "alert-rules";
}

/// <summary>
/// Integration event (issue 15, point 7): an alert rule fired. Published on the bus by the alert
/// dispatcher; <paramref name="EventPosition"/> is the log position of the event that fired it.
/// </summary>
public sealed record AlertRaised(
    string AlertId,
    string Project,
    string RuleId,
    string Kind,
    string Severity,
    int Count,
    int Threshold,
    string EventType,
    string EventStream,
    long EventPosition,
    DateTimeOffset RaisedAt);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(UtcMicrosecondsConverter)])]
[JsonSerializable(typeof(AnomalyDetected))]
[JsonSerializable(typeof(AlertRuleAdded))]
[JsonSerializable(typeof(AlertRuleRemoved))]
public sealed partial class AnomalyJsonContext : JsonSerializerContext;
