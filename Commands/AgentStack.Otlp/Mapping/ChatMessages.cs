using System.Text.Json;
using OpenTelemetry.Proto.Common.V1;

namespace AgentStack.Otlp.Mapping;

/// <summary>
/// Every message family is normalised to the shape of the current GenAI semantic conventions
/// (<c>gen_ai.input.messages</c> / <c>gen_ai.output.messages</c> JSON schema):
/// <c>{"role", "parts":[{"type":"text","content"} | {"type":"tool_call","id","name","arguments"} |
/// {"type":"tool_call_response","id","response"} | {"type":"uri","modality","uri"}], "finish_reason"?}</c>,
/// so the dashboard reads one shape whatever the instrumentation.
/// </summary>
internal sealed class ChatMessage
{
    public string? Role { get; set; }
    public string? Name { get; set; }
    public List<ChatPart> Parts { get; } = [];
    public string? FinishReason { get; set; }

    public void Write(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        if (Role is not null)
            w.WriteString("role", Role);
        if (Name is not null)
            w.WriteString("name", Name);
        w.WriteStartArray("parts");
        foreach (var part in Parts)
            part.Write(w);
        w.WriteEndArray();
        if (FinishReason is not null)
            w.WriteString("finish_reason", FinishReason);
        w.WriteEndObject();
    }

    public static JsonElement ToJson(IEnumerable<ChatMessage> messages) => JsonText.Build(w => WriteArray(w, messages));

    /// <summary>The messages as a span's input or output, written straight into the request's payloads.</summary>
    public static JsonPayload ToPayload(IEnumerable<ChatMessage> messages) => JsonPayload.FromWriter(w => WriteArray(w, messages));

    private static void WriteArray(Utf8JsonWriter w, IEnumerable<ChatMessage> messages)
    {
        w.WriteStartArray();
        foreach (var m in messages)
            m.Write(w);
        w.WriteEndArray();
    }

    /// <summary>
    /// An OpenAI-style message object (<c>{"role","content","tool_calls":[{"id","function":{"name","arguments"}}],
    /// "tool_call_id"}</c>), the body of the older <c>gen_ai.*.message</c> events and of Semantic Kernel's
    /// <c>gen_ai.prompt</c> JSON. A <c>gen_ai.choice</c> body nests it under <c>message</c>.
    /// </summary>
    public static ChatMessage FromOpenAiStyle(JsonElement body, string? defaultRole)
    {
        var message = new ChatMessage { FinishReason = Str(body, "finish_reason") };
        var source = body.ValueKind == JsonValueKind.Object && body.TryGetProperty("message", out var inner) && inner.ValueKind == JsonValueKind.Object
            ? inner
            : body;
        // Semantic Kernel writes "Assistant"; the conventions' roles are lower case.
        message.Role = Str(source, "role")?.ToLowerInvariant() ?? defaultRole;
        message.Name = Str(source, "name");
        if (source.ValueKind != JsonValueKind.Object)
        {
            message.Parts.Add(new ChatPart.Text(source));
            return message;
        }
        var toolCallId = Str(source, "tool_call_id") ?? (message.Role == "tool" ? Str(source, "id") : null);
        if (source.TryGetProperty("content", out var content) && content.ValueKind != JsonValueKind.Null)
        {
            if (message.Role == "tool")
                message.Parts.Add(new ChatPart.ToolCallResponse(toolCallId, content));
            else if (content.ValueKind == JsonValueKind.Array)
                foreach (var item in content.EnumerateArray())
                    message.Parts.Add(ContentPart(item));
            else
                message.Parts.Add(new ChatPart.Text(content));
        }
        if (source.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
        {
            foreach (var call in calls.EnumerateArray())
            {
                var function = call.ValueKind == JsonValueKind.Object && call.TryGetProperty("function", out var f) ? f : call;
                var arguments = function.ValueKind == JsonValueKind.Object && function.TryGetProperty("arguments", out var a) ? a : default(JsonElement?);
                message.Parts.Add(new ChatPart.ToolCall(Str(call, "id"), Str(function, "name"), arguments));
            }
        }
        return message;
    }

    /// <summary>
    /// A Vercel AI SDK message (<c>ai.prompt.messages</c>, the messages of <c>ai.prompt</c>): content is a string or
    /// parts <c>{"type":"text","text"}</c>, <c>{"type":"tool-call","toolCallId","toolName","input"}</c> (<c>args</c>
    /// before SDK 5), <c>{"type":"tool-result","toolCallId","toolName","output":{"type","value"}}</c> (<c>result</c>
    /// before SDK 5), <c>{"type":"reasoning","text"}</c>, <c>{"type":"image"|"file", …}</c>.
    /// </summary>
    public static ChatMessage FromVercelAi(JsonElement item)
    {
        var message = new ChatMessage { Role = Str(item, "role") ?? "user" };
        if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("content", out var content))
        {
            message.Parts.Add(new ChatPart.Raw(item));
            return message;
        }
        if (content.ValueKind != JsonValueKind.Array)
        {
            message.Parts.Add(new ChatPart.Text(content));
            return message;
        }
        foreach (var part in content.EnumerateArray())
        {
            switch (Str(part, "type"))
            {
                case "text" when part.TryGetProperty("text", out var text):
                    message.Parts.Add(new ChatPart.Text(text));
                    break;
                case "reasoning" when part.TryGetProperty("text", out var thought):
                    message.Parts.Add(new ChatPart.Reasoning(thought));
                    break;
                case "tool-call":
                    message.Parts.Add(VercelAiToolCall(part));
                    break;
                case "tool-result":
                    var result = part.TryGetProperty("output", out var output) ? output
                        : part.TryGetProperty("result", out var older) ? older : default;
                    // SDK 5+: {"type":"json"|"text"|"error-text"|…, "value"}: the value is the tool's answer.
                    if (result.ValueKind == JsonValueKind.Object && result.TryGetProperty("type", out _) && result.TryGetProperty("value", out var value))
                        result = value;
                    message.Parts.Add(new ChatPart.ToolCallResponse(Str(part, "toolCallId"),
                        result.ValueKind == JsonValueKind.Undefined ? JsonString("") : result) { Name = Str(part, "toolName") });
                    break;
                case "image" or "file" when HttpUri(part) is { } uri:
                    message.Parts.Add(new ChatPart.Uri(Str(part, "mediaType") ?? Str(part, "mimeType") ?? Str(part, "type")!, uri));
                    break;
                default:
                    message.Parts.Add(new ChatPart.Raw(part));
                    break;
            }
        }
        return message;
    }

    /// <summary>An image or file part's address when it is a web address (inline data stays a raw part).</summary>
    private static string? HttpUri(JsonElement part)
    {
        var text = Str(part, "image") ?? Str(part, "data") ?? Str(part, "url");
        return text is not null && System.Uri.TryCreate(text, UriKind.Absolute, out var parsed) && parsed.Scheme is "http" or "https" ? text : null;
    }

    /// <summary>A Vercel AI SDK tool call (<c>ai.response.toolCalls</c> items, <c>tool-call</c> parts): <c>toolCallId</c>,
    /// <c>toolName</c>, <c>input</c> (<c>args</c> before SDK 5; often JSON text).</summary>
    public static ChatPart VercelAiToolCall(JsonElement call) =>
        new ChatPart.ToolCall(Str(call, "toolCallId"), Str(call, "toolName"),
            call.ValueKind == JsonValueKind.Object && (call.TryGetProperty("input", out var input) || call.TryGetProperty("args", out input)) ? input : null);

    private static ChatPart ContentPart(JsonElement item)
    {
        if (item.ValueKind == JsonValueKind.String)
            return new ChatPart.Text(item);
        var type = Str(item, "type");
        if (type == "text" && item.TryGetProperty("text", out var text))
            return new ChatPart.Text(text);
        if (type == "image_url" && item.TryGetProperty("image_url", out var image) && Str(image, "url") is { } url)
            return new ChatPart.Uri("image", url);
        return new ChatPart.Raw(item);
    }

    /// <summary>
    /// Indexed attributes of OpenLLMetry (<c>gen_ai.prompt.N.*</c>, <c>gen_ai.completion.N.*</c>) and of its older
    /// <c>llm.prompts.N.*</c> / <c>llm.completions.N.*</c>: <c>role</c>, <c>content</c>, <c>finish_reason</c>,
    /// <c>tool_call_id</c>, <c>tool_calls.M.{id,name,arguments}</c>, <c>function_call.{name,arguments}</c>.
    /// Only those keys are consumed; any other stays in <c>attributes</c>.
    /// </summary>
    public static List<ChatMessage> FromIndexed(OtlpAttributes attributes, string prefix, string defaultRole)
    {
        var messages = new List<ChatMessage>();
        foreach (var (index, item) in attributes.Indexed(prefix, consume: false))
        {
            var at = $"{prefix}{index}.";
            var message = new ChatMessage { Role = Take(item, "role", at) ?? defaultRole, FinishReason = Take(item, "finish_reason", at) };
            var toolCallId = Take(item, "tool_call_id", at);
            if (Take(item, "content", at) is { } content)
                message.Parts.Add(ContentPart(message.Role, toolCallId, content));
            foreach (var (callIndex, call) in OtlpAttributes.IndexedFrom(item.Select(kv => (kv.Key, kv.Value)), "tool_calls."))
            {
                var callAt = $"{at}tool_calls.{callIndex}.";
                message.Parts.Add(new ChatPart.ToolCall(Take(call, "id", callAt), Take(call, "name", callAt),
                    Take(call, "arguments", callAt) is { } args ? JsonString(args) : null));
            }
            if (item.ContainsKey("function_call.name"))
                message.Parts.Add(new ChatPart.ToolCall(null, Take(item, "function_call.name", at),
                    Take(item, "function_call.arguments", at) is { } fargs ? JsonString(fargs) : null));
            messages.Add(message);
        }
        return messages;

        string? Take(Dictionary<string, AnyValue> item, string key, string at) => TakeIndexed(attributes, item, key, at);
    }

    /// <summary>
    /// OpenInference <c>llm.input_messages.N.message.*</c> / <c>llm.output_messages.N.message.*</c>: role, content,
    /// name, tool_call_id, <c>contents.M.message_content.{type,text,image.image.url}</c>,
    /// <c>tool_calls.M.tool_call.{id,function.name,function.arguments}</c>, <c>function_call_name</c>/<c>_arguments_json</c>;
    /// AutoGen's <c>thought</c> and <c>function.M</c> result blobs (issue 16).
    /// </summary>
    public static List<ChatMessage> FromOpenInference(OtlpAttributes attributes, string prefix, string defaultRole)
    {
        var messages = new List<ChatMessage>();
        foreach (var (index, item) in attributes.Indexed(prefix, consume: false))
        {
            var at = $"{prefix}{index}.";
            var role = Take(item, "message.role", at) ?? defaultRole;
            // OpenAI's older "function" role (and AutoGen's function results) is the conventions' "tool": a tool's answer
            // fed back to the model, where indirect prompt injections arrive (issue 16).
            var message = new ChatMessage { Role = role == "function" ? "tool" : role, Name = Take(item, "message.name", at) };
            var toolCallId = Take(item, "message.tool_call_id", at);
            if (Take(item, "message.content", at) is { } content)
                message.Parts.Add(role == "function" ? new ChatPart.ToolCallResponse(toolCallId, JsonString(content)) { Name = message.Name }
                    : ContentPart(message.Role, toolCallId, content));
            // The older function-calling form: message.function_call_name / message.function_call_arguments_json.
            if (Take(item, "message.function_call_name", at) is { } functionName)
                message.Parts.Add(new ChatPart.ToolCall(null, functionName,
                    Take(item, "message.function_call_arguments_json", at) is { } functionArgs ? JsonString(functionArgs) : null));
            if (Take(item, "thought", at) is { } thought)
                message.Parts.Add(new ChatPart.Reasoning(JsonString(thought)));
            // AutoGen AgentChat writes each FunctionExecutionResult as one JSON blob, function.M: {"name","content","call_id","is_error"}.
            foreach (var (resultIndex, blob) in FunctionResults(item))
            {
                if (JsonText.TryParseStructured(OtlpAttributes.AsString(blob)) is not { ValueKind: JsonValueKind.Object } result)
                    continue;
                attributes.Consume($"{at}function.{resultIndex}");
                message.Role = "tool";
                message.Parts.Add(new ChatPart.ToolCallResponse(Str(result, "call_id"),
                    result.TryGetProperty("content", out var answer) ? answer : JsonString(""))
                {
                    Name = Str(result, "name"),
                    IsError = result.TryGetProperty("is_error", out var error) && error.ValueKind == JsonValueKind.True,
                });
            }
            foreach (var (partIndex, part) in OtlpAttributes.IndexedFrom(item.Select(kv => (kv.Key, kv.Value)), "message.contents."))
            {
                var partAt = $"{at}message.contents.{partIndex}.";
                var type = Take(part, "message_content.type", partAt);
                if (Take(part, "message_content.text", partAt) is { } text)
                    message.Parts.Add(new ChatPart.Text(JsonString(text)));
                else if (Take(part, "message_content.image.image.url", partAt) is { } url)
                    message.Parts.Add(new ChatPart.Uri(type ?? "image", url));
            }
            foreach (var (callIndex, call) in OtlpAttributes.IndexedFrom(item.Select(kv => (kv.Key, kv.Value)), "message.tool_calls."))
            {
                var callAt = $"{at}message.tool_calls.{callIndex}.";
                message.Parts.Add(new ChatPart.ToolCall(Take(call, "tool_call.id", callAt), Take(call, "tool_call.function.name", callAt),
                    Take(call, "tool_call.function.arguments", callAt) is { } args ? JsonString(args) : null));
            }
            messages.Add(message);
        }
        return messages;

        string? Take(Dictionary<string, AnyValue> item, string key, string at) => TakeIndexed(attributes, item, key, at);
    }

    /// <summary>The <c>function.M</c> keys of one OpenInference message, in index order.</summary>
    private static IEnumerable<(int Index, AnyValue Value)> FunctionResults(Dictionary<string, AnyValue> item) =>
        item.Where(kv => kv.Key.StartsWith("function.", StringComparison.Ordinal)
                && int.TryParse(kv.Key.AsSpan("function.".Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _))
            .Select(kv => (int.Parse(kv.Key.AsSpan("function.".Length), System.Globalization.CultureInfo.InvariantCulture), kv.Value))
            .OrderBy(r => r.Item1);

    /// <summary>Reads one key of an indexed message and marks its full attribute name as mapped.</summary>
    private static string? TakeIndexed(OtlpAttributes attributes, Dictionary<string, AnyValue> item, string key, string at)
    {
        if (!item.TryGetValue(key, out var value))
            return null;
        attributes.Consume(at + key);
        return OtlpAttributes.AsString(value);
    }

    /// <summary>A message's content: a tool's answer for role <c>tool</c>, text otherwise.</summary>
    private static ChatPart ContentPart(string role, string? toolCallId, string content) => role == "tool"
        ? new ChatPart.ToolCallResponse(toolCallId, JsonString(content))
        : new ChatPart.Text(JsonString(content));

    private static string? Str(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var p)
            ? p.ValueKind switch
            {
                JsonValueKind.String => p.GetString(),
                JsonValueKind.Number => p.GetRawText(),
                _ => null,
            }
            : null;

    private static JsonElement JsonString(string s) => JsonText.Build(w => w.WriteStringValue(s));
}

/// <summary>One message part, written in the GenAI conventions' part schema.</summary>
internal abstract record ChatPart
{
    public abstract void Write(Utf8JsonWriter w);

    /// <summary>Writes a value that may be a string holding JSON (tool arguments usually are) as that JSON.</summary>
    private static void WriteValue(Utf8JsonWriter w, JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.String)
            JsonText.WriteMaybeJson(w, value.GetString()!);
        else
            value.WriteTo(w);
    }

    public sealed record Text(JsonElement Content) : ChatPart
    {
        public override void Write(Utf8JsonWriter w)
        {
            w.WriteStartObject();
            w.WriteString("type", "text");
            w.WritePropertyName("content");
            Content.WriteTo(w);
            w.WriteEndObject();
        }
    }

    public sealed record ToolCall(string? Id, string? Name, JsonElement? Arguments) : ChatPart
    {
        public override void Write(Utf8JsonWriter w)
        {
            w.WriteStartObject();
            w.WriteString("type", "tool_call");
            if (Id is not null)
                w.WriteString("id", Id);
            if (Name is not null)
                w.WriteString("name", Name);
            if (Arguments is { } arguments)
            {
                w.WritePropertyName("arguments");
                WriteValue(w, arguments);
            }
            w.WriteEndObject();
        }
    }

    /// <summary>A tool's answer; <see cref="Name"/> (the tool's name) and <see cref="IsError"/> only where the sender
    /// names them (AutoGen's function results, the Vercel AI SDK's tool results).</summary>
    public sealed record ToolCallResponse(string? Id, JsonElement Result) : ChatPart
    {
        public string? Name { get; init; }
        public bool IsError { get; init; }

        public override void Write(Utf8JsonWriter w)
        {
            w.WriteStartObject();
            w.WriteString("type", "tool_call_response");
            if (Id is not null)
                w.WriteString("id", Id);
            if (Name is not null)
                w.WriteString("name", Name);
            // "response", as the conventions' ToolCallResponsePart names it (and as senders of gen_ai.input.messages
            // write it); "result" until issue 16, which the dashboard never read.
            w.WritePropertyName("response");
            WriteValue(w, Result);
            if (IsError)
                w.WriteBoolean("is_error", true);
            w.WriteEndObject();
        }
    }

    /// <summary>The model's reasoning (the conventions' <c>reasoning</c> part).</summary>
    public sealed record Reasoning(JsonElement Content) : ChatPart
    {
        public override void Write(Utf8JsonWriter w)
        {
            w.WriteStartObject();
            w.WriteString("type", "reasoning");
            w.WritePropertyName("content");
            Content.WriteTo(w);
            w.WriteEndObject();
        }
    }

    public sealed record Uri(string Modality, string Value) : ChatPart
    {
        public override void Write(Utf8JsonWriter w)
        {
            w.WriteStartObject();
            w.WriteString("type", "uri");
            w.WriteString("modality", Modality);
            w.WriteString("uri", Value);
            w.WriteEndObject();
        }
    }

    public sealed record Raw(JsonElement Value) : ChatPart
    {
        public override void Write(Utf8JsonWriter w) => Value.WriteTo(w);
    }
}
