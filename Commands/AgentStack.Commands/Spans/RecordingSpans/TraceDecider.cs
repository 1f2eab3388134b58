using System.Collections.Immutable;
using AgentStack.Events;

namespace AgentStack.Commands.Spans.RecordingSpans;

/// <summary>What must not change between a span's start and its completion.</summary>
public readonly record struct SpanIdentity(string? ParentSpanId, string Name, string Kind, DateTimeOffset StartTime)
{
    public static SpanIdentity Of(SpanRecord span) => new(span.ParentSpanId, span.Name, span.Kind, span.StartTime);
}

/// <summary>What the trace stream already holds for one span.</summary>
public sealed record SpanEntry(SpanIdentity Identity, string? StartedHash, string? CompletedHash);

/// <summary>The state of one trace stream, as far as deciding needs it.</summary>
public sealed record TraceState(ImmutableDictionary<string, SpanEntry> Spans)
{
    public static readonly TraceState Initial = new(ImmutableDictionary.Create<string, SpanEntry>(StringComparer.Ordinal));

    /// <summary>How many of its spans have started and not completed.</summary>
    public int Open { get; init; }

    /// <summary>Whether a root span (one without a parent) has completed.</summary>
    public bool RootCompleted { get; init; }

    /// <summary>
    /// The project whose spans the stream holds; null for a stream with none yet. Stream names join the project and the
    /// trace id with '-', which both may contain, so two projects' traces can spell one stream (<see cref="TraceStream"/>).
    /// </summary>
    public string? Project { get; init; }

    /// <summary>
    /// A root span completed and no span is under way: the agent's run is over, as far as the stream tells. Exporters
    /// end a trace with its root, so later batches for it are rare (a late child, a retry).
    /// </summary>
    public bool Finished => RootCompleted && Open == 0;
}

/// <summary>
/// The events to append for one trace, how each incoming span was judged, and <paramref name="State"/>: the state
/// evolved by those events, what the stream holds once they are appended.
/// </summary>
public sealed record TraceDecision(IReadOnlyList<TraceEvent> Events, int Duplicates, IReadOnlyList<SpanConflict> Conflicts, TraceState State);

/// <summary>
/// The pure decider of a trace stream (docs/style.md, rule 3): no I/O, time and actor come in with the command.
/// Rules (docs/architecture.md, invariant 2 and the span contract):
/// a new span is recorded as started (no endTime) or completed; the same content again is a duplicate;
/// a started span sent again with endTime completes it if its identity (parent, name, kind, start) is
/// unchanged; a start arriving after its completion is a duplicate; anything else with the same ids conflicts.
/// </summary>
public static class TraceDecider
{
    /// <summary>Decides a command whose spans all belong to the trace of <paramref name="state"/> (the handler splits by trace).</summary>
    public static TraceDecision Decide(TraceState state, RecordSpans command) =>
        Decide(state, command.Project, command.ReceivedBy, command.ReceivedAt, command.Spans);

    public static TraceDecision Decide(TraceState state, string project, string receivedBy, DateTimeOffset receivedAt,
        IEnumerable<SpanRecord> spans)
    {
        var events = new List<TraceEvent>();
        var conflicts = new List<SpanConflict>();
        var duplicates = 0;
        if (state.Project is { } owner && !string.Equals(owner, project, StringComparison.Ordinal))
        {
            // Another project's trace spells this stream's name (project "a", trace "b-x"; project "a-b", trace "x"):
            // recording here would mix two tenants' spans in one stream, or count this one's as the other's duplicates.
            foreach (var span in spans)
                conflicts.Add(new SpanConflict(span.TraceId, span.SpanId, OtherProjectsStream));
            return new TraceDecision(events, 0, conflicts, state);
        }
        foreach (var span in spans)
        {
            // The span's canonical JSON is written once, inside the event that would record it: hashed here, stored
            // as written if an event is decided.
            var content = CanonicalSpan.InEvent(project, span, receivedAt, receivedBy);
            var hash = content.Hash;
            TraceEvent? @event = null;
            state.Spans.TryGetValue(span.SpanId, out var existing);
            var identityChanged = existing is not null && existing.Identity != SpanIdentity.Of(span);

            if (existing is null)
            {
                @event = span.IsCompleted
                    ? new SpanCompleted(project, span, hash, receivedAt, receivedBy) { CanonicalSpan = content }
                    : new SpanStarted(project, span, hash, receivedAt, receivedBy) { CanonicalSpan = content };
            }
            else if (identityChanged)
            {
                conflicts.Add(new SpanConflict(span.TraceId, span.SpanId,
                    "a span with these ids was already recorded with a different parent, name, kind or start time"));
            }
            else if (span.IsCompleted && existing.CompletedHash is null)
            {
                @event = new SpanCompleted(project, span, hash, receivedAt, receivedBy) { CanonicalSpan = content };
            }
            else if (span.IsCompleted ? existing.CompletedHash == hash : existing.StartedHash == hash || existing.CompletedHash is not null)
            {
                duplicates++;
            }
            else
            {
                conflicts.Add(new SpanConflict(span.TraceId, span.SpanId, span.IsCompleted
                    ? "this span was already completed with different content"
                    : "this span was already started with different content"));
            }

            if (@event is not null)
            {
                events.Add(@event);
                state = Evolve(state, @event);
            }
        }
        return new TraceDecision(events, duplicates, conflicts, state);
    }

    /// <summary>The conflict's reason when the trace's stream holds another project's trace (it names neither).</summary>
    public const string OtherProjectsStream =
        "this trace id cannot be recorded in this project: joined to the project's name with '-', it names a stream that " +
        "holds another project's trace; send the trace under another trace id";

    /// <summary>Exhaustive over <see cref="TraceEvent"/>: a new event kind does not compile until it is handled here.</summary>
    public static TraceState Evolve(TraceState state, TraceEvent @event) => @event.Match(state,
        static (started, state) =>
        {
            var known = state.Spans.TryGetValue(started.Span.SpanId, out var s);
            return state with
            {
                Project = state.Project ?? started.Project,
                Spans = state.Spans.SetItem(started.Span.SpanId, known
                    ? s! with { StartedHash = started.ContentHash }
                    : new SpanEntry(SpanIdentity.Of(started.Span), started.ContentHash, null)),
                // A start recorded after its completion (an older log) opens nothing.
                Open = state.Open + (known ? 0 : 1),
            };
        },
        static (completed, state) =>
        {
            var known = state.Spans.TryGetValue(completed.Span.SpanId, out var s);
            return state with
            {
                Project = state.Project ?? completed.Project,
                Spans = state.Spans.SetItem(completed.Span.SpanId, known
                    ? s! with { CompletedHash = completed.ContentHash }
                    : new SpanEntry(SpanIdentity.Of(completed.Span), null, completed.ContentHash)),
                Open = state.Open - (known && s!.CompletedHash is null ? 1 : 0),
                RootCompleted = state.RootCompleted || completed.Span.ParentSpanId is null,
            };
        });

    /// <summary>
    /// SHA-256 of the span's canonical JSON (payloads as received), lower-case hex: taken where the decider takes it,
    /// over the span's bytes inside a span event (the frame around them does not enter it), so the two cannot drift.
    /// </summary>
    public static string ContentHash(SpanRecord span) => CanonicalSpan.InEvent("", span, default, "").Hash;
}
