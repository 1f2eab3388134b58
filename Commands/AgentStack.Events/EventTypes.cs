using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace AgentStack.Events;

/// <summary>
/// The stored name of every event type. Names are part of the log's format: never rename one;
/// a breaking change gets a new name with the next schema version (<c>.v2</c>) and an upcaster.
/// </summary>
public static class EventTypes
{
    public const string SpanStarted = "span.started.v1";
    public const string SpanCompleted = "span.completed.v1";

    private static readonly Dictionary<Type, (string Name, JsonTypeInfo Info)> ByType = new()
    {
        [typeof(SpanStarted)] = (SpanStarted, EventJsonContext.Default.SpanStarted),
        [typeof(SpanCompleted)] = (SpanCompleted, EventJsonContext.Default.SpanCompleted),
        [typeof(Anomalies.AnomalyDetected)] = (Anomalies.AnomalyDetected.TypeName, Anomalies.AnomalyJsonContext.Default.AnomalyDetected),
        [typeof(Anomalies.AlertRuleAdded)] = (Anomalies.AlertRuleAdded.TypeName, Anomalies.AnomalyJsonContext.Default.AlertRuleAdded),
        [typeof(Anomalies.AlertRuleRemoved)] = (Anomalies.AlertRuleRemoved.TypeName, Anomalies.AnomalyJsonContext.Default.AlertRuleRemoved),
    };

    private static readonly Dictionary<string, JsonTypeInfo> ByName =
        ByType.Values.ToDictionary(v => v.Name, v => v.Info, StringComparer.Ordinal);

    public static string NameOf(object @event) =>
        ByType.TryGetValue(@event.GetType(), out var entry)
            ? entry.Name
            : throw new ArgumentException($"{@event.GetType()} is not a registered event type.", nameof(@event));

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
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(UtcMicrosecondsConverter)])]
[JsonSerializable(typeof(SpanStarted))]
[JsonSerializable(typeof(SpanCompleted))]
[JsonSerializable(typeof(SpanRecord))]
public sealed partial class EventJsonContext : JsonSerializerContext;
