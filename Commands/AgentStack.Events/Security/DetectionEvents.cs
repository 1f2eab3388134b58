namespace AgentStack.Events.Security;

/// <summary>
/// A detector found something in a recorded span (issue 15): a fact about the log, appended by the
/// detections projection to <see cref="DetectionStream"/>, never by rewriting the span. Identified by
/// (<see cref="SourcePosition"/>, <see cref="Field"/>, <see cref="Rule"/>, <see cref="Start"/>,
/// <see cref="DetectorVersion"/>): the projection never appends the same one twice, so a restart or a
/// re-applied batch adds nothing. <see cref="Field"/> names the payload and JSON path
/// (<c>output$.results[1].snippet</c>); <see cref="Start"/>/<see cref="Length"/> are offsets in that string.
/// </summary>
public sealed record DetectionRecorded(
    string Project,
    string TraceId,
    string SpanId,
    long SourcePosition,
    string Field,
    string Kind,
    string Rule,
    double Score,
    string Severity,
    string Reason,
    int Start,
    int Length,
    string Detector,
    string DetectorVersion,
    DateTimeOffset DetectedAt);

public static class DetectionStream
{
    /// <summary>One stream per trace for its detections: <c>detections-{project}-{traceId}</c>.</summary>
    public static string Name(string project, string traceId) => $"detections-{project}-{traceId}";
}
