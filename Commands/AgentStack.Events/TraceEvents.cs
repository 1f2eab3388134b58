namespace AgentStack.Events;

/// <summary>
/// A span was received without an end time: the agent step is under way.
/// <paramref name="ContentHash"/> is the SHA-256 of the span's canonical JSON, used to tell a
/// re-send (same hash) from a conflicting one (ARCHITECTURE.md, invariant 2).
/// </summary>
public sealed record SpanStarted(
    string Project,
    SpanRecord Span,
    string ContentHash,
    DateTimeOffset ReceivedAt,
    string ReceivedBy);

/// <summary>
/// A span was received with its end time: either first seen complete, or completing a
/// <see cref="SpanStarted"/> of the same span. Carries the whole final span.
/// </summary>
public sealed record SpanCompleted(
    string Project,
    SpanRecord Span,
    string ContentHash,
    DateTimeOffset ReceivedAt,
    string ReceivedBy);

/// <summary>Stream naming: one stream per trace (ARCHITECTURE.md, flow).</summary>
public static class TraceStream
{
    public static string Name(string project, string traceId) => $"trace-{project}-{traceId}";
}
