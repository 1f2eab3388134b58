using AgentStack.Events;

namespace AgentStack.Commands.Spans.RecordingSpans;

/// <summary>
/// Record a validated batch of spans for one project. The collector sends it on the bus and answers
/// the client only from the reply, i.e. after the events are durable (docs/architecture.md, invariant 1).
/// A batch may touch several traces; the handler appends to all of their streams atomically, so a
/// batch is either recorded whole or refused whole.
/// </summary>
public sealed record RecordSpans(
    Guid CommandId,
    string Project,
    string ReceivedBy,
    DateTimeOffset ReceivedAt,
    IReadOnlyList<SpanRecord> Spans)
{
    /// <summary>Partition key: the first trace of the batch, so one trace's batches run one at a time.</summary>
    public string PartitionKey => Spans.Count == 0 ? Project : TraceStream.Name(Project, Spans[0].TraceId);
}

/// <summary>Reply: the batch is durable; <paramref name="Accepted"/> spans produced events, the rest were re-sends.</summary>
public sealed record SpansRecorded(Guid CommandId, int Accepted, int Duplicates);

/// <summary>Reply: nothing was written because these spans conflict with what is already recorded.</summary>
public sealed record SpansConflicted(Guid CommandId, IReadOnlyList<SpanConflict> Conflicts);

public sealed record SpanConflict(string TraceId, string SpanId, string Reason);
