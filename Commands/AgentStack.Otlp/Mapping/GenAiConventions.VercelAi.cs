using System.Text.Json;
using AgentStack.Events;

namespace AgentStack.Otlp.Mapping;

/// <summary>
/// The Vercel AI SDK (<c>ai</c> on npm, <c>experimental_telemetry</c>; issue 16). Every span it records names its
/// function in <c>ai.operationId</c>: the outer call (<c>ai.generateText</c>, <c>ai.streamText</c>,
/// <c>ai.generateObject</c>, <c>ai.streamObject</c>, <c>ai.embed</c>, <c>ai.embedMany</c>, <c>ai.rerank</c>) wraps
/// its retries, steps and tool calls; the model calls are the nested <c>*.doGenerate</c>, <c>*.doStream</c>,
/// <c>*.doEmbed</c>, <c>*.doRerank</c> spans; <c>ai.toolCall</c> is one tool execution.
/// Only the model calls carry the model and token counts as first-class fields: the outer span repeats the sum of
/// its steps in <c>ai.usage.*</c>, and a trace's totals add up every span's tokens, so the outer call is a chain
/// whose <c>ai.usage.*</c> stay in <c>attributes</c>.
/// </summary>
internal sealed partial class GenAiConventions
{
    /// <summary>Reads a Vercel AI SDK span; false when the span is not one.</summary>
    private bool ReadVercelAi(OtlpAttributes a)
    {
        if (a.String("ai.operationId") is not { Length: > 0 } operation)
            return false;
        if (operation == "ai.toolCall")
        {
            Kind = SpanKinds.Tool;
            ClearModelCall();
            Input = Take(a, "ai.toolCall.args", JsonPayload.Parse.Any);
            Output = Take(a, "ai.toolCall.result", JsonPayload.Parse.Any);
            return true;
        }

        var modelCall = operation.EndsWith(".doGenerate", StringComparison.Ordinal) || operation.EndsWith(".doStream", StringComparison.Ordinal);
        var embedCall = operation.EndsWith(".doEmbed", StringComparison.Ordinal);
        var rerankCall = operation.EndsWith(".doRerank", StringComparison.Ordinal);
        if (modelCall || embedCall || rerankCall)
        {
            Kind = modelCall ? SpanKinds.Llm : embedCall ? SpanKinds.Embedding : SpanKinds.Retrieval;
            // The conventions' gen_ai.response.model/gen_ai.system come first (read already); the SDK's own names after.
            Model ??= a.FirstString("ai.response.model", "ai.model.id");
            Provider ??= a.FirstString("ai.model.provider");
            // ai.usage.promptTokens/completionTokens: the SDK before version 5.
            InputTokens ??= a.FirstLong("ai.usage.inputTokens", "ai.usage.promptTokens", "ai.usage.tokens");
            OutputTokens ??= a.FirstLong("ai.usage.outputTokens", "ai.usage.completionTokens");
        }
        else
        {
            Kind = SpanKinds.Chain;
            ClearModelCall();
        }

        Input = PromptOf(a) ?? EmbeddingValues(a, "ai.value", "ai.values") ?? Take(a, "ai.documents", JsonPayload.Parse.Any);
        Output = ResponseOf(a) ?? EmbeddingValues(a, "ai.embedding", "ai.embeddings") ?? Take(a, "ai.ranking", JsonPayload.Parse.Any);
        return true;
    }

    /// <summary>An outer call or a tool execution is no model call: its model and tokens are the model calls' own.</summary>
    private void ClearModelCall()
    {
        Model = null;
        Provider = null;
        InputTokens = null;
        OutputTokens = null;
        CostUsd = null;
    }

    /// <summary>
    /// The model call's messages (<c>ai.prompt.messages</c>, the provider-level prompt) or the outer call's prompt
    /// (<c>ai.prompt</c>: <c>{"system", "prompt", "messages"}</c>), normalised to the conventions' message schema.
    /// </summary>
    private static JsonPayload? PromptOf(OtlpAttributes a)
    {
        if (a.String("ai.prompt.messages") is { } text && JsonText.TryParseStructured(text) is { ValueKind: JsonValueKind.Array } messages)
        {
            a.Consume("ai.prompt.messages");
            return ChatMessage.ToPayload(messages.EnumerateArray().Select(ChatMessage.FromVercelAi));
        }
        if (a.String("ai.prompt") is { } promptText && JsonText.TryParseStructured(promptText) is { ValueKind: JsonValueKind.Object } prompt)
        {
            a.Consume("ai.prompt");
            var list = new List<ChatMessage>();
            if (prompt.TryGetProperty("system", out var system) && system.ValueKind == JsonValueKind.String)
                list.Add(ChatMessage.FromVercelAi(JsonText.Build(w =>
                {
                    w.WriteStartObject();
                    w.WriteString("role", "system");
                    w.WritePropertyName("content");
                    system.WriteTo(w);
                    w.WriteEndObject();
                })));
            foreach (var name in (ReadOnlySpan<string>)["prompt", "messages"])
            {
                if (!prompt.TryGetProperty(name, out var value))
                    continue;
                if (value.ValueKind == JsonValueKind.Array)
                    list.AddRange(value.EnumerateArray().Select(ChatMessage.FromVercelAi));
                else if (value.ValueKind == JsonValueKind.String)
                    list.Add(new ChatMessage { Role = "user", Parts = { new ChatPart.Text(value) } });
            }
            return ChatMessage.ToPayload(list);
        }
        return Take(a, "ai.prompt", JsonPayload.Parse.Structured);
    }

    /// <summary>
    /// The answer: <c>ai.response.text</c> and <c>ai.response.toolCalls</c> as one assistant message (with
    /// <c>ai.response.finishReason</c>), or <c>ai.response.object</c> (generateObject) as the JSON it is.
    /// </summary>
    private static JsonPayload? ResponseOf(OtlpAttributes a)
    {
        if (a.Get("ai.response.object") is { } value)
        {
            a.Consume("ai.response.object");
            return JsonPayload.FromValue(value, JsonPayload.Parse.Any);
        }
        var text = a.String("ai.response.text");
        var calls = JsonText.TryParseStructured(a.String("ai.response.toolCalls"));
        if (text is null && calls is not { ValueKind: JsonValueKind.Array })
            return null;
        var message = new ChatMessage { Role = "assistant", FinishReason = a.String("ai.response.finishReason") };
        if (text is { Length: > 0 })
            message.Parts.Add(new ChatPart.Text(JsonText.Build(w => w.WriteStringValue(text))));
        a.Consume("ai.response.text");
        if (calls is { ValueKind: JsonValueKind.Array } list)
        {
            foreach (var call in list.EnumerateArray())
                message.Parts.Add(ChatMessage.VercelAiToolCall(call));
            a.Consume("ai.response.toolCalls");
        }
        return ChatMessage.ToPayload([message]);
    }

    /// <summary><c>ai.value</c>/<c>ai.embedding</c> (one JSON text) or <c>ai.values</c>/<c>ai.embeddings</c> (an array
    /// of JSON texts) as the JSON they hold.</summary>
    private static JsonPayload? EmbeddingValues(OtlpAttributes a, string one, string many)
    {
        if (a.Get(one) is { } single)
        {
            a.Consume(one);
            return JsonPayload.FromValue(single, JsonPayload.Parse.Any);
        }
        if (a.Get(many) is not { ArrayValue: { } array })
            return null;
        a.Consume(many);
        return JsonPayload.FromWriter(w =>
        {
            w.WriteStartArray();
            foreach (var item in array.Values)
                JsonPayload.FromValue(item, JsonPayload.Parse.Any).WriteTo(w);
            w.WriteEndArray();
        });
    }

    private static JsonPayload? Take(OtlpAttributes a, string key, JsonPayload.Parse parse)
    {
        if (a.Get(key) is not { } value)
            return null;
        a.Consume(key);
        return JsonPayload.FromValue(value, parse);
    }
}
