using System.Text.Json;
using System.Text.Json.Serialization;

namespace AgentStack.Events;

/// <summary>
/// One span exactly as the collector accepted it. <see cref="Input"/>, <see cref="Output"/> and
/// <see cref="Attributes"/> keep the JSON text the client sent, byte for byte but for line breaks between tokens
/// (docs/architecture.md, invariant 5): <see cref="RawJsonConverter"/> writes them back so.
/// Times are UTC, truncated to whole microseconds.
/// </summary>
public sealed record SpanRecord(
    string TraceId,
    string SpanId,
    string? ParentSpanId,
    string Name,
    string Kind,
    DateTimeOffset StartTime,
    DateTimeOffset? EndTime,
    string? Status,
    string? StatusMessage,
    string? Model,
    string? Provider,
    long? InputTokens,
    long? OutputTokens,
    decimal? CostUsd,
    [property: JsonConverter(typeof(RawJsonConverter))] JsonElement? Input,
    [property: JsonConverter(typeof(RawJsonConverter))] JsonElement? Output,
    [property: JsonConverter(typeof(RawJsonConverter))] JsonElement? Attributes)
{
    [JsonIgnore]
    public bool IsCompleted => EndTime is not null;
}

/// <summary>The values of <c>kind</c> the native span JSON allows (docs/architecture.md, public contracts).</summary>
public static class SpanKinds
{
    public const string Agent = "agent";
    public const string Chain = "chain";
    public const string Llm = "llm";
    public const string Tool = "tool";
    public const string Retrieval = "retrieval";
    public const string Embedding = "embedding";
    public const string Guardrail = "guardrail";
    public const string Other = "other";

    public static readonly IReadOnlyList<string> All = [Agent, Chain, Llm, Tool, Retrieval, Embedding, Guardrail, Other];

    public static bool IsKnown(string kind) => All.Contains(kind, StringComparer.Ordinal);
}

public static class SpanStatuses
{
    public const string Ok = "ok";
    public const string Error = "error";
}
