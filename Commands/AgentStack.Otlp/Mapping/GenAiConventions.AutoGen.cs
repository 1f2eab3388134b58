using System.Text.Json;

namespace AgentStack.Otlp.Mapping;

/// <summary>
/// AutoGen AgentChat through OpenInference (issue 16). Its model-client spans carry the prompt as
/// <c>llm.input_messages.N.*</c> (read with the OpenInference messages, function results included) but the answer only as
/// <c>output.value</c>: AutoGen's <c>CreateResult</c> as JSON, <c>{"finish_reason", "content": text | [{"id", "name",
/// "arguments"}], "usage", "cached", "thought"?}</c>. That answer becomes one assistant message, so its tool calls read
/// like every other family's. <c>output.value</c> itself stays in <c>attributes</c>: its <c>usage</c> is not taken as the
/// span's tokens, since the openai spans underneath count the same tokens.
/// </summary>
internal sealed partial class GenAiConventions
{
    private static JsonPayload? AutoGenCreateResult(OtlpAttributes a)
    {
        if (a.String("output.mime_type") is not { } mime || !mime.Contains("json", StringComparison.OrdinalIgnoreCase)
            || JsonText.TryParseStructured(a.String("output.value")) is not { ValueKind: JsonValueKind.Object } result
            || !result.TryGetProperty("finish_reason", out var finish) || !result.TryGetProperty("content", out var content)
            || !result.TryGetProperty("cached", out _))
            return null;
        var message = new ChatMessage { Role = "assistant", FinishReason = finish.ValueKind == JsonValueKind.String ? finish.GetString() : null };
        if (result.TryGetProperty("thought", out var thought) && thought.ValueKind == JsonValueKind.String)
            message.Parts.Add(new ChatPart.Reasoning(thought));
        if (content.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in content.EnumerateArray())
            {
                if (item.ValueKind == JsonValueKind.Object && Text(item, "name") is { } name && item.TryGetProperty("arguments", out var arguments))
                    message.Parts.Add(new ChatPart.ToolCall(Text(item, "id"), name, arguments));
                else
                    message.Parts.Add(new ChatPart.Raw(item));
            }
        }
        else if (content.ValueKind != JsonValueKind.Null)
        {
            message.Parts.Add(new ChatPart.Text(content));
        }
        // output.value stays in attributes as sent: its usage and cache flag have no field of their own.
        return ChatMessage.ToPayload([message]);
    }

    private static string? Text(JsonElement item, string name) =>
        item.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
