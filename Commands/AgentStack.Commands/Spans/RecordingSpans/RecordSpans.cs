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

/// <summary>
/// <see cref="RecordSpans"/> as it travels the bus in the distributed topology: its spans as one UTF-8 JSON array in a
/// byte string, not as nested JSON. MassTransit's JSON serializer parses a message's whole body into a document and then
/// reads the message out of that document: for a batch of spans, two full parses of every payload, and the first alone
/// (14% of the commands host's samples at the peak) cost as much as handling the batch. A byte string is one token
/// (base64) to the envelope's parse, and <see cref="ToCommand"/> reads the spans once, from the bytes
/// (BENCHMARKS.md, "Spans as bytes on the bus"). The payloads keep the bytes the client sent, as on the in-process path.
/// </summary>
public sealed record RecordSpansOnTheBus(
    Guid CommandId,
    string Project,
    string ReceivedBy,
    DateTimeOffset ReceivedAt,
    string PartitionKey,
    byte[] Spans)
{
    public static RecordSpansOnTheBus From(RecordSpans command) =>
        new(command.CommandId, command.Project, command.ReceivedBy, command.ReceivedAt, command.PartitionKey,
            System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(command.Spans, BusJsonContext.Default.IReadOnlyListSpanRecord));

    public RecordSpans ToCommand() =>
        new(CommandId, Project, ReceivedBy, ReceivedAt,
            System.Text.Json.JsonSerializer.Deserialize(Spans, BusJsonContext.Default.IReadOnlyListSpanRecord)
            ?? throw new System.Text.Json.JsonException("A RecordSpans message held no span array."));
}

/// <summary>The spans of <see cref="RecordSpansOnTheBus"/>: as the log writes them (times in UTC to the microsecond, payloads as sent).</summary>
[System.Text.Json.Serialization.JsonSourceGenerationOptions(
    PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(UtcMicrosecondsConverter)])]
[System.Text.Json.Serialization.JsonSerializable(typeof(IReadOnlyList<SpanRecord>))]
internal sealed partial class BusJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
