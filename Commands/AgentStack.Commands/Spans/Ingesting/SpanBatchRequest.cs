using System.Text.Json;
using System.Text.Json.Serialization;
using AgentStack.Events;
using AgentStack.Security;

namespace AgentStack.Commands.Spans.Ingesting;

/// <summary>The body of <c>POST /v1/spans</c> (docs/architecture.md, native ingestion).</summary>
public sealed class SpanBatchRequest
{
    public List<SpanJson?>? Spans { get; set; }
}

/// <summary>
/// One span as sent. Times stay strings until validation so a bad one is reported by name;
/// payloads stay as the raw JSON received.
/// </summary>
public sealed class SpanJson
{
    public string? TraceId { get; set; }
    public string? SpanId { get; set; }
    public string? ParentSpanId { get; set; }
    public string? Name { get; set; }
    public string? Kind { get; set; }
    public string? StartTime { get; set; }
    public string? EndTime { get; set; }
    public string? Status { get; set; }
    public string? StatusMessage { get; set; }
    public string? Model { get; set; }
    public string? Provider { get; set; }
    public long? InputTokens { get; set; }
    public long? OutputTokens { get; set; }
    public decimal? CostUsd { get; set; }

    [JsonConverter(typeof(RawJsonConverter))]
    public JsonElement? Input { get; set; }

    [JsonConverter(typeof(RawJsonConverter))]
    public JsonElement? Output { get; set; }

    [JsonConverter(typeof(RawJsonConverter))]
    public JsonElement? Attributes { get; set; }
}

/// <summary>The answer to an accepted batch.</summary>
public sealed record RecordSpansResponse(int Accepted, int Duplicates);

// Every string as text, an escaped lone surrogate as U+FFFD (docs/ingestion.md); the standard converter throws on one.
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, Converters = [typeof(JsonStringConverter)])]
[JsonSerializable(typeof(SpanBatchRequest))]
[JsonSerializable(typeof(RecordSpansResponse))]
public sealed partial class IngestJsonContext : JsonSerializerContext;
