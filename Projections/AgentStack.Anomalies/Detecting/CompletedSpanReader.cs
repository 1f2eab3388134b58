using System.Text.Json;
using AgentStack.Events;

namespace AgentStack.Anomalies.Detecting;

/// <summary>
/// Reads from a stored <see cref="SpanCompleted"/> what <see cref="AnomalyEngine.Observe"/> reads: the project, the
/// span's ids, name, kind, times, status, model, token counts and cost, and a tool span's input (its arguments, for
/// the loop detector). The output, the attributes and every other span's input are passed over, not parsed, and come
/// back null, as do the status message and the provider; the event's content hash and receipt are not read. The full
/// deserialisation parsed each payload into a document of its own and was about two thirds of the projection's apply
/// (BENCHMARKS.md, "Twenty-fifth sitting"). <c>when_the_anomaly_engine_reads_completed_spans</c> holds the reader to
/// the full read, and the engine's findings to those from it.
/// </summary>
internal static class CompletedSpanReader
{
    /// <summary>The project and the span, or null for bytes that are not a span event's object.</summary>
    public static (string Project, SpanRecord Span)? Read(ReadOnlySpan<byte> data)
    {
        var reader = new Utf8JsonReader(data);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            return null;
        string? project = null;
        SpanRecord? span = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("project"u8))
            {
                reader.Read();
                project = reader.GetString();
            }
            else if (reader.ValueTextEquals("span"u8))
            {
                reader.Read();
                span = ReadSpan(ref reader, data);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        return project is null || span is null ? null : (project, span);
    }

    private static SpanRecord? ReadSpan(ref Utf8JsonReader reader, ReadOnlySpan<byte> data)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
            return null;
        string? traceId = null, spanId = null, parent = null, name = null, kind = null, status = null, model = null;
        DateTimeOffset? start = null, end = null;
        long? inputTokens = null, outputTokens = null;
        decimal? cost = null;
        Range? input = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var property = reader;
            reader.Read();
            if (reader.TokenType == JsonTokenType.Null)
                continue;
            if (property.ValueTextEquals("traceId"u8))
                traceId = reader.GetString();
            else if (property.ValueTextEquals("spanId"u8))
                spanId = reader.GetString();
            else if (property.ValueTextEquals("parentSpanId"u8))
                parent = reader.GetString();
            else if (property.ValueTextEquals("name"u8))
                name = reader.GetString();
            else if (property.ValueTextEquals("kind"u8))
                kind = reader.GetString();
            else if (property.ValueTextEquals("startTime"u8))
                start = UtcMicrosecondsConverter.ReadTime(ref reader);
            else if (property.ValueTextEquals("endTime"u8))
                end = UtcMicrosecondsConverter.ReadTime(ref reader);
            else if (property.ValueTextEquals("status"u8))
                status = reader.GetString();
            else if (property.ValueTextEquals("model"u8))
                model = reader.GetString();
            else if (property.ValueTextEquals("inputTokens"u8))
                inputTokens = reader.GetInt64();
            else if (property.ValueTextEquals("outputTokens"u8))
                outputTokens = reader.GetInt64();
            else if (property.ValueTextEquals("costUsd"u8))
                cost = reader.GetDecimal();
            else if (property.ValueTextEquals("input"u8))
            {
                // Where it lies, parsed below only if the span is a tool's (the kind may come after it).
                var from = (int)reader.TokenStartIndex;
                reader.Skip();
                input = from..(int)reader.BytesConsumed;
            }
            else
                reader.Skip();
        }
        if (traceId is null || spanId is null || name is null || kind is null || start is null)
            return null;
        JsonElement? arguments = null;
        if (input is { } at && string.Equals(kind, SpanKinds.Tool, StringComparison.Ordinal))
        {
            var raw = new Utf8JsonReader(data[at]);
            arguments = JsonElement.ParseValue(ref raw);
        }
        return new SpanRecord(traceId, spanId, parent, name, kind, start.Value, end, status, null, model, null, inputTokens,
            outputTokens, cost, arguments, null, null);
    }
}
