using System.Text.Json.Nodes;

namespace AgentStack.Sdk;

/// <summary>
/// A finished span as it will be sent to <c>POST /v1/spans</c> (docs/architecture.md, native ingestion).
/// The redaction hook (<see cref="AgentStackOptions.Redact"/>) receives it before it leaves the process
/// and may change any property.
/// </summary>
public sealed class SpanData
{
    /// <summary>The W3C trace id (32 hex digits).</summary>
    public required string TraceId { get; set; }

    /// <summary>The span id (16 hex digits).</summary>
    public required string SpanId { get; set; }

    /// <summary>The parent span's id, or <see langword="null"/> for a root span.</summary>
    public string? ParentSpanId { get; set; }

    /// <summary>The span's name.</summary>
    public required string Name { get; set; }

    /// <summary>One of <see cref="AgentStackSpanKind"/>.</summary>
    public required string Kind { get; set; }

    /// <summary>When the span started.</summary>
    public DateTimeOffset StartTime { get; set; }

    /// <summary>When the span ended (ignored while <see cref="IsStart"/>).</summary>
    public DateTimeOffset EndTime { get; set; }

    /// <summary>
    /// Whether this is the span's start record, sent without <c>endTime</c> when the span started
    /// (<see cref="AgentStackOptions.StartEventKinds"/>); its completion is sent as a second record when it ends.
    /// </summary>
    public bool IsStart { get; set; }

    /// <summary><c>ok</c> or <c>error</c>.</summary>
    public string Status { get; set; } = "ok";

    /// <summary>Why the span failed, when it did.</summary>
    public string? StatusMessage { get; set; }

    /// <summary>The model, for llm and embedding spans.</summary>
    public string? Model { get; set; }

    /// <summary>The model's provider.</summary>
    public string? Provider { get; set; }

    /// <summary>Prompt tokens.</summary>
    public long? InputTokens { get; set; }

    /// <summary>Completion tokens.</summary>
    public long? OutputTokens { get; set; }

    /// <summary>Cost in US dollars.</summary>
    public decimal? CostUsd { get; set; }

    /// <summary>The captured input (any JSON).</summary>
    public JsonNode? Input { get; set; }

    /// <summary>The captured output (any JSON).</summary>
    public JsonNode? Output { get; set; }

    /// <summary>Other attributes: strings, numbers, booleans, arrays of them, or JSON nodes.</summary>
    public Dictionary<string, object?> Attributes { get; } = new(StringComparer.Ordinal);
}
