using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace AgentStack.Sdk;

/// <summary>
/// Turns a finished <see cref="Activity"/> into the native span JSON model. Runs on the exporter's thread,
/// never on the caller's. Understands the SDK's own spans and OpenTelemetry GenAI spans (chat, embeddings,
/// execute_tool, invoke_agent) such as Microsoft.Extensions.AI and Microsoft Agent Framework emit.
/// </summary>
internal static class SpanConverter
{
    private const string SystemInstructions = "gen_ai.system_instructions";
    private const string InputMessages = "gen_ai.input.messages";
    private const string OutputMessages = "gen_ai.output.messages";
    private const string ToolArguments = "gen_ai.tool.call.arguments";
    private const string ToolResult = "gen_ai.tool.call.result";
    private const string LegacySystem = "gen_ai.system";

    // Tags that become span fields rather than attributes.
    private static readonly HashSet<string> Consumed = new(StringComparer.Ordinal)
    {
        AgentStackTags.Kind, AgentStackTags.Name, AgentStackTags.CostUsd, AgentStackTags.RequestModel,
        AgentStackTags.ResponseModel, AgentStackTags.Provider, AgentStackTags.InputTokens, AgentStackTags.OutputTokens,
        SystemInstructions, InputMessages, OutputMessages, ToolArguments, ToolResult, LegacySystem,
    };

    public static SpanData Convert(Activity activity, AgentStackOptions options, Func<ActivitySource, bool> exported)
    {
        string? requestModel = null, responseModel = null, provider = null, costText = null, name = null, kindTag = null;
        string? system = null, inputMessages = null, outputMessages = null;
        object? toolArguments = null, toolResult = null;
        long? inputTokens = null, outputTokens = null;

        var start = new DateTimeOffset(DateTime.SpecifyKind(activity.StartTimeUtc, DateTimeKind.Utc));
        var span = new SpanData
        {
            TraceId = activity.TraceId.ToHexString(),
            SpanId = activity.SpanId.ToHexString(),
            ParentSpanId = ParentOf(activity, exported),
            Name = activity.DisplayName,
            Kind = AgentStackSpanKind.Other,
            StartTime = start,
            EndTime = start + activity.Duration,
        };

        foreach (var (key, value) in activity.TagObjects)
        {
            switch (key)
            {
                case AgentStackTags.Kind: kindTag = value as string; break;
                case AgentStackTags.Name: name = value as string; break;
                case AgentStackTags.CostUsd: costText = System.Convert.ToString(value, CultureInfo.InvariantCulture); break;
                case AgentStackTags.RequestModel: requestModel = value as string; break;
                case AgentStackTags.ResponseModel: responseModel = value as string; break;
                case AgentStackTags.Provider: provider = value as string; break;
                case LegacySystem: provider ??= value as string; break;
                case AgentStackTags.InputTokens: inputTokens = AsLong(value); break;
                case AgentStackTags.OutputTokens: outputTokens = AsLong(value); break;
                case SystemInstructions: system = value as string; break;
                case InputMessages: inputMessages = value as string; break;
                case OutputMessages: outputMessages = value as string; break;
                case ToolArguments: toolArguments = value; break;
                case ToolResult: toolResult = value; break;
                default: span.Attributes[key] = value; break;
            }
        }

        span.Kind = KindOf(activity, kindTag);
        if (name is not null)
            span.Name = name;
        span.Model = responseModel ?? requestModel;
        span.Provider = provider;
        // Tokens count only where they were spent: a loop or agent span that sums its children's usage keeps
        // the sum as attributes, or the trace's totals would count every token twice.
        if (span.Kind is AgentStackSpanKind.Llm or AgentStackSpanKind.Embedding)
        {
            span.InputTokens = inputTokens;
            span.OutputTokens = outputTokens;
        }
        else
        {
            if (inputTokens is not null)
                span.Attributes[AgentStackTags.InputTokens] = inputTokens;
            if (outputTokens is not null)
                span.Attributes[AgentStackTags.OutputTokens] = outputTokens;
            inputTokens = outputTokens = null;
        }

        if (activity.Status == ActivityStatusCode.Error)
        {
            span.Status = "error";
            span.StatusMessage = string.IsNullOrEmpty(activity.StatusDescription)
                ? span.Attributes.GetValueOrDefault(AgentStackTags.ErrorType) as string
                : activity.StatusDescription;
        }

        if (costText is not null && decimal.TryParse(costText, NumberStyles.Number, CultureInfo.InvariantCulture, out var cost))
            span.CostUsd = cost;
        else if ((inputTokens is not null || outputTokens is not null)
            && (PriceOf(options.ModelPrices, responseModel) ?? PriceOf(options.ModelPrices, requestModel)) is { } price)
            span.CostUsd = Math.Round(((inputTokens ?? 0) * price.InputPerMillionTokens + (outputTokens ?? 0) * price.OutputPerMillionTokens) / 1_000_000m, 10);

        // Within the server's default limits (docs/ingestion.md), so one long error message or attribute cannot get
        // the whole batch refused.
        span.Name = Clamp(span.Name, MaxNameLength)!;
        span.StatusMessage = Clamp(span.StatusMessage, MaxStatusMessageLength);
        span.Model = Clamp(span.Model, MaxShortStringLength);
        span.Provider = Clamp(span.Provider, MaxShortStringLength);
        foreach (var key in span.Attributes.Where(a => a.Value is string { Length: > MaxAttributeValueLength }).Select(a => a.Key).ToList())
            span.Attributes[key] = Clamp((string)span.Attributes[key]!, MaxAttributeValueLength);

        if (options.CapturePayloads)
        {
            span.Input = activity.GetCustomProperty(AgentStackTags.Input) as JsonNode
                ?? GenAiInput(system, inputMessages)
                ?? (toolArguments is string args ? Payload.FromTagText(args) : Payload.Capture(toolArguments));
            span.Output = activity.GetCustomProperty(AgentStackTags.Output) as JsonNode
                ?? Payload.FromTagText(outputMessages)
                ?? ToolOutput(toolResult);
            span.Input = Limit(span.Input, options.MaxPayloadBytes);
            span.Output = Limit(span.Output, options.MaxPayloadBytes);
        }
        return span;
    }

    /// <summary>
    /// The start record of a span (issue 16): what is known when it starts (ids, parent, name, kind, start time,
    /// model, input, attributes), without end, status, usage, cost or output.
    /// </summary>
    public static SpanData ConvertStart(Activity activity, AgentStackOptions options, Func<ActivitySource, bool> exported)
    {
        var span = Convert(activity, options, exported);
        span.IsStart = true;
        span.Status = "ok";
        span.StatusMessage = null;
        span.InputTokens = span.OutputTokens = null;
        span.CostUsd = null;
        span.Output = null;
        span.Attributes.Remove(AgentStackTags.InputTokens);
        span.Attributes.Remove(AgentStackTags.OutputTokens);
        span.Attributes.Remove(AgentStackTags.ErrorType);
        return span;
    }

    /// <summary>The span's kind, read without allocating (it runs on the caller's thread when a span starts).</summary>
    public static string KindOf(Activity activity) => KindOf(activity, activity.GetTagItem(AgentStackTags.Kind) as string);

    private static string KindOf(Activity activity, string? kindTag)
    {
        if (AgentStackSpanKind.IsKnown(kindTag))
            return kindTag!;
        if (AgentStackTracer.IsAgentStackSource(activity.Source.Name) && AgentStackSpanKind.IsKnown(activity.OperationName))
            return activity.OperationName;
        // Microsoft.Extensions.AI's function-invoking client names its loop span without an operation tag.
        var name = activity.DisplayName.AsSpan();
        var space = name.IndexOf(' ');
        var operation = activity.GetTagItem(AgentStackTags.OperationName) as string is { } tag ? tag.AsSpan() : space < 0 ? name : name[..space];
        return operation switch
        {
            "chat" or "text_completion" or "generate_content" => AgentStackSpanKind.Llm,
            "embeddings" => AgentStackSpanKind.Embedding,
            "execute_tool" => AgentStackSpanKind.Tool,
            "invoke_agent" or "create_agent" => AgentStackSpanKind.Agent,
            "orchestrate_tools" => AgentStackSpanKind.Chain,
            _ => AgentStackSpanKind.Other,
        };
    }

    /// <summary>
    /// The nearest ancestor that is exported too, so a tree stays whole when an unexported activity
    /// (an HTTP client span, say) sits between two AgentStack spans.
    /// </summary>
    private static string? ParentOf(Activity activity, Func<ActivitySource, bool> exported)
    {
        for (var parent = activity.Parent; parent is not null; parent = parent.Parent)
        {
            if (exported(parent.Source))
                return parent.SpanId.ToHexString();
        }
        return null;
    }

    private static JsonNode? GenAiInput(string? system, string? messages)
    {
        if (messages is null && system is null)
            return null;
        if (system is null)
            return Payload.FromTagText(messages);
        return new JsonObject
        {
            ["systemInstructions"] = Payload.FromTagText(system),
            ["messages"] = Payload.FromTagText(messages),
        };
    }

    private static JsonNode? ToolOutput(object? result) => result switch
    {
        null => null,
        string text => Payload.FromTagText(text),
        _ => Payload.Capture(result),
    };

    private static JsonNode? Limit(JsonNode? node, int maxBytes)
    {
        if (node is null)
            return null;
        var json = node.ToJsonString();
        var bytes = Encoding.UTF8.GetByteCount(json);
        if (bytes <= maxBytes)
            return node;
        return new JsonObject
        {
            ["truncated"] = true,
            ["bytes"] = bytes,
            ["preview"] = json[..Math.Min(json.Length, 1024)],
        };
    }

    // The server's default limits (AgentStack:Ingest, docs/ingestion.md), in characters.
    private const int MaxNameLength = 1024;
    private const int MaxStatusMessageLength = 32 * 1024;
    private const int MaxShortStringLength = 256;
    private const int MaxAttributeValueLength = 64 * 1024;

    /// <summary>The text cut to <paramref name="max"/> characters, never inside a surrogate pair.</summary>
    private static string? Clamp(string? text, int max)
    {
        if (text is null || text.Length <= max)
            return text;
        return char.IsHighSurrogate(text[max - 1]) ? text[..(max - 1)] : text[..max];
    }

    /// <summary>
    /// The price of <paramref name="model"/>: its own entry, else the longest entry it starts with followed by a '-',
    /// ':', '@' or '_' (a provider answers "gpt-4o-mini" with "gpt-4o-mini-2024-07-18"), as the server's price table
    /// matches; a router prefix ("openai/") is ignored.
    /// </summary>
    internal static ModelPrice? PriceOf(IDictionary<string, ModelPrice> prices, string? model)
    {
        if (model is null || prices.Count == 0)
            return null;
        var name = model.Trim();
        if (name.LastIndexOf('/') is var slash and >= 0)
            name = name[(slash + 1)..];
        for (var length = name.Length; length > 0; length--)
        {
            if (length < name.Length && name[length] is not ('-' or ':' or '@' or '_'))
                continue;
            if (prices.TryGetValue(name[..length], out var price))
                return price;
        }
        return null;
    }

    private static long? AsLong(object? value) => value switch
    {
        null => null,
        long l => l,
        int i => i,
        short s => s,
        uint u => u,
        ulong ul => (long)ul,
        double d => (long)d,
        string text when long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) => parsed,
        _ => null,
    };
}
