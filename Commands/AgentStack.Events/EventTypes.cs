using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace AgentStack.Events;

/// <summary>
/// The one registration place of event types: each <see cref="TraceEvent"/> subtype's stored name and JSON type
/// info. Names are part of the log's format: never rename one; a breaking change gets a new name with the next
/// schema version (<c>.v2</c>) and an upcaster. A unit test checks every subtype is registered here.
/// </summary>
public static class EventTypes
{
    public const string SpanStarted = "span.started.v1";
    public const string SpanCompleted = "span.completed.v1";
    public const string SubjectErased = "subject.erased.v1";
    public const string GuardBlocked = "guard.blocked.v1";
    public const string DetectionRecorded = "detection.recorded.v1";

    private static readonly Dictionary<Type, (string Name, JsonTypeInfo Info)> ByType = new()
    {
        [typeof(SpanStarted)] = (SpanStarted, EventJsonContext.Default.SpanStarted),
        [typeof(SpanCompleted)] = (SpanCompleted, EventJsonContext.Default.SpanCompleted),
        // Access events (issue 17, AccessEvents.cs).
        [typeof(ProjectCreated)] = (AccessEventTypes.ProjectCreated, AccessEventJsonContext.Default.ProjectCreated),
        [typeof(ProjectRenamed)] = (AccessEventTypes.ProjectRenamed, AccessEventJsonContext.Default.ProjectRenamed),
        [typeof(ProjectArchived)] = (AccessEventTypes.ProjectArchived, AccessEventJsonContext.Default.ProjectArchived),
        [typeof(ApiKeyIssued)] = (AccessEventTypes.ApiKeyIssued, AccessEventJsonContext.Default.ApiKeyIssued),
        [typeof(ApiKeyRevoked)] = (AccessEventTypes.ApiKeyRevoked, AccessEventJsonContext.Default.ApiKeyRevoked),
        [typeof(ApiKeyRotated)] = (AccessEventTypes.ApiKeyRotated, AccessEventJsonContext.Default.ApiKeyRotated),
        [typeof(SubjectErased)] = (SubjectErased, EventJsonContext.Default.SubjectErased),
        // Retention (issue 17.3, RetentionEvents.cs).
        [typeof(RetentionPolicySet)] = (RetentionEventTypes.PolicySet, RetentionEventJsonContext.Default.RetentionPolicySet),
        [typeof(RetentionApplied)] = (RetentionEventTypes.Applied, RetentionEventJsonContext.Default.RetentionApplied),
        [typeof(Security.GuardBlocked)] = (GuardBlocked, EventJsonContext.Default.GuardBlocked),
        [typeof(Security.DetectionRecorded)] = (DetectionRecorded, EventJsonContext.Default.DetectionRecorded),
        [typeof(Anomalies.AnomalyDetected)] = (Anomalies.AnomalyDetected.TypeName, Anomalies.AnomalyJsonContext.Default.AnomalyDetected),
        [typeof(Anomalies.AlertRuleAdded)] = (Anomalies.AlertRuleAdded.TypeName, Anomalies.AnomalyJsonContext.Default.AlertRuleAdded),
        [typeof(Anomalies.AlertRuleRemoved)] = (Anomalies.AlertRuleRemoved.TypeName, Anomalies.AnomalyJsonContext.Default.AlertRuleRemoved),
    };

    private static readonly Dictionary<string, JsonTypeInfo> ByName =
        ByType.Values.ToDictionary(v => v.Name, v => v.Info, StringComparer.Ordinal);

    /// <summary>Every registered CLR type (for the registration test).</summary>
    public static IEnumerable<Type> RegisteredTypes => ByType.Keys;

    public static string NameOf(object @event) =>
        ByType.TryGetValue(@event.GetType(), out var entry)
            ? entry.Name
            : throw new ArgumentException($"{@event.GetType()} is not a registered event type.", nameof(@event));

    /// <summary>
    /// The stored form of a trace event. A span event whose bytes the decider already wrote with the span's hash
    /// (<see cref="CanonicalSpan.InEvent"/>) is stored as those bytes; they are byte for byte what
    /// <see cref="EventJsonContext"/> writes (property order, escaping and time format alike, checked by a unit test).
    /// </summary>
    public static EventData Serialize(TraceEvent @event) =>
        @event is SpanEvent { CanonicalEvent: { } bytes } ? new EventData(NameOf(@event), bytes) : Serialize((object)@event);

    public static EventData Serialize(object @event)
    {
        if (!ByType.TryGetValue(@event.GetType(), out var entry))
            throw new ArgumentException($"{@event.GetType()} is not a registered event type.", nameof(@event));
        return new EventData(entry.Name, JsonSerializer.SerializeToUtf8Bytes(@event, entry.Info));
    }

    /// <summary>Deserialises a stored event; null for a type this build does not know (newer writers).</summary>
    public static object? Deserialize(string type, ReadOnlySpan<byte> data) =>
        ByName.TryGetValue(type, out var info) ? JsonSerializer.Deserialize(data, info) : null;

    public static bool IsKnown(string type) => ByName.ContainsKey(type);

    private static readonly UtcMicrosecondsConverter Times = new();

    [ThreadStatic] private static ArrayBufferWriter<byte>? eventBuffer;
    [ThreadStatic] private static Utf8JsonWriter? eventWriter;

    /// <summary>
    /// A span event's bytes, the members of SpanStarted and SpanCompleted in declaration order as the source generator
    /// writes them, and the SHA-256 of the span's JSON within them (its content hash, which follows it). Written into
    /// this thread's buffer, then copied once into the result, the only array allocated.
    /// </summary>
    internal static (byte[] Utf8, string ContentHash) WriteSpanEvent(string project, SpanRecord span, DateTimeOffset receivedAt, string receivedBy)
    {
        var buffer = eventBuffer ??= new ArrayBufferWriter<byte>(4096);
        buffer.ResetWrittenCount();
        var writer = eventWriter ??= new Utf8JsonWriter(buffer);
        writer.Reset(buffer);
        try
        {
            writer.WriteStartObject();
            writer.WriteString("project"u8, project);
            writer.WritePropertyName("span"u8);
            writer.Flush();
            var spanAt = buffer.WrittenCount;
            JsonSerializer.Serialize(writer, span, EventJsonContext.Default.SpanRecord);
            writer.Flush();
            Span<byte> digest = stackalloc byte[32];
            System.Security.Cryptography.SHA256.HashData(buffer.WrittenSpan[spanAt..], digest);
            var contentHash = Convert.ToHexStringLower(digest);
            writer.WriteString("contentHash"u8, contentHash);
            writer.WritePropertyName("receivedAt"u8);
            Times.Write(writer, receivedAt, EventJsonContext.Default.Options);
            writer.WriteString("receivedBy"u8, receivedBy);
            writer.WriteEndObject();
            writer.Flush();
            return (buffer.WrittenSpan.ToArray(), contentHash);
        }
        finally
        {
            // A span's payloads are not kept by the thread past its event: a large one would stay referenced.
            if (buffer.Capacity > 1 << 20)
            {
                eventBuffer = null;
                eventWriter = null;
            }
            else
            {
                buffer.Clear();
            }
        }
    }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(UtcMicrosecondsConverter)])]
[JsonSerializable(typeof(SpanStarted))]
[JsonSerializable(typeof(SpanCompleted))]
[JsonSerializable(typeof(SpanRecord))]
[JsonSerializable(typeof(SubjectErased))]
[JsonSerializable(typeof(Security.GuardBlocked))]
[JsonSerializable(typeof(Security.DetectionRecorded))]
public sealed partial class EventJsonContext : JsonSerializerContext;
