using System.Text.Json;

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
/// What <see cref="SpanStarted"/> and <see cref="SpanCompleted"/> both record: a span as received, with
/// <see cref="ContentHash"/>, the SHA-256 of the span's canonical JSON, used to tell a re-send (same hash)
/// from a conflicting one (docs/architecture.md, invariant 2). The two kinds differ by type only, so their stored
/// members, equality and canonical bytes live here once; this assembly alone derives from it.
/// </summary>
public abstract record SpanEvent : TraceEvent
{
    private protected SpanEvent(string Project, SpanRecord Span, string ContentHash, DateTimeOffset ReceivedAt, string ReceivedBy)
    {
        this.Project = Project;
        this.Span = Span;
        this.ContentHash = ContentHash;
        this.ReceivedAt = ReceivedAt;
        this.ReceivedBy = ReceivedBy;
    }

    public string Project { get; init; }

    public SpanRecord Span { get; init; }

    public string ContentHash { get; init; }

    public DateTimeOffset ReceivedAt { get; init; }

    public string ReceivedBy { get; init; }

    /// <summary>The span's canonical JSON when the decider already wrote it for the hash, within this event's bytes (not stored, not compared).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public CanonicalSpan? CanonicalSpan { get; init; }

    /// <summary>The bytes the decider wrote for this very event, when it wrote them (<see cref="CanonicalSpan.InEvent"/>).</summary>
    internal byte[]? CanonicalEvent => CanonicalSpan?.EventOf(Project, Span, ContentHash, ReceivedAt, ReceivedBy);

    public virtual bool Equals(SpanEvent? other) =>
        other is not null && EqualityContract == other.EqualityContract && Project == other.Project && Span == other.Span
        && ContentHash == other.ContentHash && ReceivedAt == other.ReceivedAt && ReceivedBy == other.ReceivedBy;

    public override int GetHashCode() => HashCode.Combine(EqualityContract, Project, Span, ContentHash, ReceivedAt, ReceivedBy);
}

/// <summary>A span was received without an end time: the agent step is under way.</summary>
public sealed record SpanStarted(string Project, SpanRecord Span, string ContentHash, DateTimeOffset ReceivedAt, string ReceivedBy)
    : SpanEvent(Project, Span, ContentHash, ReceivedAt, ReceivedBy)
{
    public override T Match<T>(Func<SpanStarted, T> started, Func<SpanCompleted, T> completed) => started(this);

    public override T Match<TArg, T>(TArg arg, Func<SpanStarted, TArg, T> started, Func<SpanCompleted, TArg, T> completed) =>
        started(this, arg);
}

/// <summary>
/// A span was received with its end time: either first seen complete, or completing a
/// <see cref="SpanStarted"/> of the same span. Carries the whole final span.
/// </summary>
public sealed record SpanCompleted(string Project, SpanRecord Span, string ContentHash, DateTimeOffset ReceivedAt, string ReceivedBy)
    : SpanEvent(Project, Span, ContentHash, ReceivedAt, ReceivedBy)
{
    public override T Match<T>(Func<SpanStarted, T> started, Func<SpanCompleted, T> completed) => completed(this);

    public override T Match<TArg, T>(TArg arg, Func<SpanStarted, TArg, T> started, Func<SpanCompleted, TArg, T> completed) =>
        completed(this, arg);
}

/// <summary>
/// A span's canonical JSON (the bytes <see cref="EventJsonContext"/> writes for a <see cref="SpanRecord"/>) and
/// their SHA-256, written once per span on the hot path (issue 13: one serialisation per span). Written by
/// <see cref="InEvent"/>, they are written in place inside the stored event that will carry them, so that event's bytes
/// are the only array the span's JSON is copied into (<see cref="EventTypes.Serialize(TraceEvent)"/> takes them as
/// they are).
/// </summary>
public sealed class CanonicalSpan
{
    private readonly string project;
    private readonly DateTimeOffset receivedAt;
    private readonly string receivedBy;

    private CanonicalSpan(SpanRecord span, string hash, byte[] eventUtf8, string project, DateTimeOffset receivedAt, string receivedBy)
    {
        Span = span;
        Hash = hash;
        EventUtf8 = eventUtf8;
        this.project = project;
        this.receivedAt = receivedAt;
        this.receivedBy = receivedBy;
    }

    /// <summary>The span these bytes are of.</summary>
    public SpanRecord Span { get; }

    /// <summary>SHA-256 of the span's canonical JSON, lower-case hex.</summary>
    public string Hash { get; }

    /// <summary>
    /// The whole <see cref="SpanStarted"/> or <see cref="SpanCompleted"/> (both have the same members) that records
    /// <see cref="Span"/> with this hash, as <see cref="EventJsonContext"/> writes it.
    /// </summary>
    public byte[] EventUtf8 { get; }

    /// <summary>The hash, and the bytes of the span event that records the span with it.</summary>
    public static CanonicalSpan InEvent(string project, SpanRecord span, DateTimeOffset receivedAt, string receivedBy)
    {
        ArgumentNullException.ThrowIfNull(project);
        ArgumentNullException.ThrowIfNull(span);
        ArgumentNullException.ThrowIfNull(receivedBy);
        var (bytes, hash) = EventTypes.WriteSpanEvent(project, span, receivedAt, receivedBy);
        return new CanonicalSpan(span, hash, bytes, project, receivedAt, receivedBy);
    }

    /// <summary>These bytes when they are the event's: written for this very span, project, time and key.</summary>
    internal byte[]? EventOf(string eventProject, SpanRecord eventSpan, string contentHash, DateTimeOffset eventReceivedAt, string eventReceivedBy) =>
        ReferenceEquals(Span, eventSpan) && contentHash == Hash && eventProject == project
        && eventReceivedAt == receivedAt && eventReceivedAt.Offset == receivedAt.Offset && eventReceivedBy == receivedBy
            ? EventUtf8
            : null;
}

/// <summary>
/// Stream naming: one stream per trace (docs/architecture.md, flow). Project names and trace ids may both hold '-', so
/// one name can spell two projects' traces (project "a", trace "b-x"; project "a-b", trace "x"): the first to record
/// keeps the stream (the decider refuses the other), and a read by name checks the events' own project
/// (<see cref="ProjectOf"/>) before it answers.
/// </summary>
public static class TraceStream
{
    public static string Name(string project, string traceId) => $"trace-{project}-{traceId}";

    /// <summary>The top-level <c>project</c> of an event's JSON (sealing leaves it in clear), or null.</summary>
    public static string? ProjectOf(ReadOnlySpan<byte> data)
    {
        try
        {
            var reader = new Utf8JsonReader(data);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                return null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isProject = reader.ValueTextEquals("project"u8) || reader.ValueTextEquals("Project"u8);
                reader.Read();
                if (isProject)
                    return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                reader.Skip();
            }
        }
        catch (JsonException)
        {
            // An edited event that is no longer JSON: the audit's chain check reports it.
        }
        catch (InvalidOperationException)
        {
        }
        return null;
    }
}
