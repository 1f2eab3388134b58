namespace AgentStack.Events;

/// <summary>
/// The closed hierarchy of events a trace stream holds (issue 13). Only this assembly can derive from it
/// (private protected constructor), and every consumer that must handle each kind goes through
/// <see cref="Match{T}"/>: adding an event type adds a parameter there, and the compiler then lists every
/// place that has to handle it (the decider's Evolve, the serialiser, the projections). Each concrete type is
/// registered once, with its stored name and JSON type info, in <see cref="EventTypes"/>.
/// </summary>
public abstract record TraceEvent
{
    private protected TraceEvent()
    {
    }

    /// <summary>Exhaustive dispatch over the event kinds; one function per kind, no default case.</summary>
    public abstract T Match<T>(Func<SpanStarted, T> started, Func<SpanCompleted, T> completed);

    /// <summary>
    /// <see cref="Match{T}"/> with an argument passed through, so static functions need no closure: the decider
    /// evolves its state once per span, and a closure over the state was two delegates and an object each time.
    /// </summary>
    public abstract T Match<TArg, T>(TArg arg, Func<SpanStarted, TArg, T> started, Func<SpanCompleted, TArg, T> completed);
}

/// <summary>
/// A span was received without an end time: the agent step is under way.
/// <paramref name="ContentHash"/> is the SHA-256 of the span's canonical JSON, used to tell a
/// re-send (same hash) from a conflicting one (docs/architecture.md, invariant 2).
/// </summary>
public sealed record SpanStarted(
    string Project,
    SpanRecord Span,
    string ContentHash,
    DateTimeOffset ReceivedAt,
    string ReceivedBy) : TraceEvent
{
    /// <summary>The span's canonical JSON when the decider already wrote it for the hash (not stored, not compared).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public CanonicalSpan? CanonicalSpan { get; init; }

    public override T Match<T>(Func<SpanStarted, T> started, Func<SpanCompleted, T> completed) => started(this);

    public override T Match<TArg, T>(TArg arg, Func<SpanStarted, TArg, T> started, Func<SpanCompleted, TArg, T> completed) =>
        started(this, arg);

    public bool Equals(SpanStarted? other) =>
        other is not null && Project == other.Project && Span == other.Span && ContentHash == other.ContentHash
        && ReceivedAt == other.ReceivedAt && ReceivedBy == other.ReceivedBy;

    public override int GetHashCode() => HashCode.Combine(Project, Span, ContentHash, ReceivedAt, ReceivedBy);
}

/// <summary>
/// A span was received with its end time: either first seen complete, or completing a
/// <see cref="SpanStarted"/> of the same span. Carries the whole final span.
/// </summary>
public sealed record SpanCompleted(
    string Project,
    SpanRecord Span,
    string ContentHash,
    DateTimeOffset ReceivedAt,
    string ReceivedBy) : TraceEvent
{
    /// <summary>The span's canonical JSON when the decider already wrote it for the hash (not stored, not compared).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public CanonicalSpan? CanonicalSpan { get; init; }

    public override T Match<T>(Func<SpanStarted, T> started, Func<SpanCompleted, T> completed) => completed(this);

    public override T Match<TArg, T>(TArg arg, Func<SpanStarted, TArg, T> started, Func<SpanCompleted, TArg, T> completed) =>
        completed(this, arg);

    public bool Equals(SpanCompleted? other) =>
        other is not null && Project == other.Project && Span == other.Span && ContentHash == other.ContentHash
        && ReceivedAt == other.ReceivedAt && ReceivedBy == other.ReceivedBy;

    public override int GetHashCode() => HashCode.Combine(Project, Span, ContentHash, ReceivedAt, ReceivedBy);
}

/// <summary>
/// A span's canonical JSON (the bytes <see cref="EventJsonContext"/> writes for a <see cref="SpanRecord"/>) and
/// their SHA-256: written once per span on the hot path, hashed, then embedded as-is in the stored event
/// (issue 13: one serialisation per span).
/// </summary>
public sealed class CanonicalSpan
{
    private CanonicalSpan(byte[] utf8, string hash)
    {
        Utf8 = utf8;
        Hash = hash;
    }

    public byte[] Utf8 { get; }

    /// <summary>SHA-256 of <see cref="Utf8"/>, lower-case hex.</summary>
    public string Hash { get; }

    public static CanonicalSpan Of(SpanRecord span)
    {
        var utf8 = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(span, EventJsonContext.Default.SpanRecord);
        return new CanonicalSpan(utf8, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(utf8)));
    }
}

/// <summary>Stream naming: one stream per trace (docs/architecture.md, flow).</summary>
public static class TraceStream
{
    public static string Name(string project, string traceId) => $"trace-{project}-{traceId}";
}
