using System.Text.Json;
using System.Text.Json.Serialization;

namespace AgentStack.Queries.Traces;

/// <summary>A row of <c>GET /api/projects/{project}/traces</c>; field names follow the span JSON.</summary>
public sealed record TraceSummary(
    string TraceId, string Name, string StartTime, string? EndTime, double? DurationMs,
    int SpanCount, int OpenSpanCount, int ErrorCount, long InputTokens, long OutputTokens, decimal CostUsd,
    string Status, IReadOnlyList<string> Models);

public sealed record TraceList(IReadOnlyList<TraceSummary> Items, string? Next);

/// <summary>A span of <c>GET /api/projects/{project}/traces/{traceId}</c>, with payloads exactly as received.</summary>
public sealed record SpanView(
    string TraceId, string SpanId, string? ParentSpanId, string Name, string Kind, string StartTime, string? EndTime,
    double? DurationMs, string? Status, string? StatusMessage, string? Model, string? Provider,
    long? InputTokens, long? OutputTokens, decimal? CostUsd,
    [property: JsonConverter(typeof(RawJsonTextConverter))] string? Input,
    [property: JsonConverter(typeof(RawJsonTextConverter))] string? Output,
    [property: JsonConverter(typeof(RawJsonTextConverter))] string? Attributes);

public sealed record TraceDetail(string TraceId, IReadOnlyList<SpanView> Spans);

/// <summary>Writes a string that already holds JSON text as that JSON, unchanged.</summary>
public sealed class RawJsonTextConverter : JsonConverter<string?>
{
    public override bool HandleNull => true;

    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null)
            return null;
        using var document = JsonDocument.ParseValue(ref reader);
        return document.RootElement.GetRawText();
    }

    public override void Write(Utf8JsonWriter writer, string? value, JsonSerializerOptions options)
    {
        if (value is null)
            writer.WriteNullValue();
        else
            writer.WriteRawValue(value, skipInputValidation: true);
    }
}

/// <summary>Rows as ClickHouse returns them (JSONEachRow, snake_case columns).</summary>
internal sealed record TraceRow(
    string TraceId, string Name, string StartTime, string? EndTime, double? DurationMs, int SpanCount, int OpenSpanCount,
    int ErrorCount, long InputTokens, long OutputTokens, decimal CostUsd, string[] Models, long StartUs);

internal sealed record SpanRow(
    string TraceId, string SpanId, string ParentSpanId, string Name, string Kind, string StartTime, string? EndTime,
    double? DurationMs, string Status, string StatusMessage, string Model, string Provider,
    long? InputTokens, long? OutputTokens, decimal? CostUsd, string? Input, string? Output, string? Attributes);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(TraceList))]
[JsonSerializable(typeof(TraceDetail))]
public sealed partial class QueryJsonContext : JsonSerializerContext;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(TraceRow))]
[JsonSerializable(typeof(SpanRow))]
internal sealed partial class RowJsonContext : JsonSerializerContext;
