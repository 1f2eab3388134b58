using System.Text.Json;
using AgentStack.Events;
using OpenTelemetry.Proto.Common.V1;
using OtlpSpan = OpenTelemetry.Proto.Trace.V1.Span;

namespace AgentStack.Otlp.Mapping;

/// <summary>
/// Reads what AgentStack needs from a span's attributes and events, for every attribute family issue 5 names:
/// <list type="bullet">
/// <item>OpenTelemetry GenAI semantic conventions, current (<c>gen_ai.operation.name</c>, <c>gen_ai.provider.name</c>,
/// <c>gen_ai.input.messages</c>, <c>gen_ai.output.messages</c>, <c>gen_ai.system_instructions</c>, <c>gen_ai.tool.*</c>,
/// <c>gen_ai.usage.*</c>, <c>error.type</c>);</item>
/// <item>their older forms: <c>gen_ai.system</c>, the span events <c>gen_ai.{system,user,assistant,tool}.message</c>
/// and <c>gen_ai.choice</c> (body in the event's attributes or in <c>gen_ai.event.content</c>), Semantic Kernel's
/// <c>gen_ai.content.prompt</c>/<c>gen_ai.content.completion</c> events, OpenLLMetry's indexed
/// <c>gen_ai.prompt.N.*</c>/<c>gen_ai.completion.N.*</c>, its older <c>llm.*</c> names and <c>traceloop.*</c>;</item>
/// <item>OpenInference (<c>openinference.span.kind</c>, <c>input.value</c>, <c>output.value</c>, <c>llm.model_name</c>,
/// <c>llm.token_count.*</c>, <c>llm.input_messages.N.message.*</c>, <c>tool.name</c>, <c>retrieval.documents.N.*</c>,
/// <c>embedding.*</c>).</item>
/// </list>
/// Attributes whose content moved into <c>input</c>/<c>output</c> are consumed (not repeated in <c>attributes</c>);
/// model, provider, token and cost attributes stay in <c>attributes</c> as sent, since the first-class fields
/// pick one of several candidates.
/// </summary>
internal sealed partial class GenAiConventions
{
    public string Kind { get; private set; } = SpanKinds.Other;
    public string? OperationName { get; private set; }
    public string? Model { get; private set; }
    public string? Provider { get; private set; }
    public long? InputTokens { get; private set; }
    public long? OutputTokens { get; private set; }
    public decimal? CostUsd { get; private set; }
    public JsonPayload? Input { get; private set; }
    public JsonPayload? Output { get; private set; }
    public bool Failed { get; private set; }
    public string? ErrorMessage { get; private set; }
    private HashSet<int>? consumedEvents;

    /// <summary>Indexes of the span's events mapped to messages (not repeated in <c>otel.events</c>).</summary>
    public IReadOnlySet<int> ConsumedEvents => consumedEvents ?? NoEvents;

    private static readonly HashSet<int> NoEvents = [];

    public static GenAiConventions Read(OtlpSpan span, OtlpAttributes a)
    {
        var g = new GenAiConventions { OperationName = a.String("gen_ai.operation.name") };
        g.Model = a.FirstString("gen_ai.response.model", "gen_ai.request.model", "llm.model_name", "llm.response.model",
            "llm.request.model", "embedding.model_name");
        g.Provider = a.FirstString("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system", "llm.vendor");
        g.InputTokens = a.FirstLong("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.usage.prompt_tokens",
            "llm.token_count.prompt");
        g.OutputTokens = a.FirstLong("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.usage.completion_tokens",
            "llm.token_count.completion");
        g.CostUsd = a.FirstDecimal("gen_ai.usage.cost", "llm.cost.total", "agentstack.cost_usd");
        g.Kind = KindOf(span, a, g);
        g.ReadErrors(span, a);
        // Frameworks whose own attributes say more than the generic families (issue 16).
        if (!g.ReadVercelAi(a))
            g.ReadCrewAi(span, a);
        if (g.Kind == SpanKinds.Tool)
            g.ReadTool(a);
        g.ReadMessages(span, a);
        g.ReadGeneric(a);
        // Tokens and cost count where they were spent, as the SDK and the Vercel AI mapping count them: an agent or a
        // chain that reports the sum of its model calls (invoke_agent with gen_ai.usage.*) keeps it in attributes, or
        // a trace's totals would count each call twice. A cost the sender states as its own stays.
        if (g.Kind is SpanKinds.Agent or SpanKinds.Chain)
        {
            g.InputTokens = g.OutputTokens = null;
            g.CostUsd = a.Decimal("agentstack.cost_usd");
        }
        return g;
    }

    /// <summary>
    /// OpenInference's explicit kind first, then the GenAI operation, then OpenLLMetry's span kind and request type;
    /// a span that names a model or provider and nothing else is an LLM call.
    /// </summary>
    private static string KindOf(OtlpSpan span, OtlpAttributes a, GenAiConventions g)
    {
        var kind = a.String("openinference.span.kind")?.ToUpperInvariant() switch
        {
            "LLM" => SpanKinds.Llm,
            "CHAIN" => SpanKinds.Chain,
            "TOOL" => SpanKinds.Tool,
            "RETRIEVER" or "RERANKER" => SpanKinds.Retrieval,
            "EMBEDDING" => SpanKinds.Embedding,
            "AGENT" => SpanKinds.Agent,
            "GUARDRAIL" => SpanKinds.Guardrail,
            "EVALUATOR" or "PROMPT" or "UNKNOWN" => SpanKinds.Other,
            _ => null,
        };
        // OpenLLMetry's workflow and task spans are structure, whatever else they carry: CrewAI's crew kickoff sets
        // gen_ai.system (or, newer, gen_ai.operation.name invoke_agent on its workflow and task spans), which would
        // otherwise make it an LLM call or an agent (issue 16).
        kind ??= a.String("traceloop.span.kind")?.ToLowerInvariant() is "workflow" or "task" || IsCrewAiWorkflow(span, a) ? SpanKinds.Chain : null;
        kind ??= g.OperationName?.ToLowerInvariant() switch
        {
            // Current names, and the dotted ones Semantic Kernel used before the conventions settled.
            "chat" or "text_completion" or "generate_content" or "chat.completions" or "text.completions" or "completion" => SpanKinds.Llm,
            "embeddings" or "embedding" or "text.embeddings" => SpanKinds.Embedding,
            "invoke_agent" or "create_agent" => SpanKinds.Agent,
            "execute_tool" => SpanKinds.Tool,
            "retrieval" or "retrieve" => SpanKinds.Retrieval,
            "invoke_workflow" => SpanKinds.Chain,
            null => null,
            _ => SpanKinds.Other,
        };
        kind ??= a.String("traceloop.span.kind")?.ToLowerInvariant() switch
        {
            "agent" => SpanKinds.Agent,
            "tool" => SpanKinds.Tool,
            "unknown" => SpanKinds.Other,
            _ => null,
        };
        kind ??= a.String("llm.request.type")?.ToLowerInvariant() switch
        {
            "chat" or "completion" => SpanKinds.Llm,
            "embedding" => SpanKinds.Embedding,
            "rerank" => SpanKinds.Retrieval,
            null => null,
            _ => SpanKinds.Other,
        };
        if (kind is not null)
            return kind;
        if (g.Model is not null || g.Provider is not null)
            return SpanKinds.Llm;
        if (a.Has("gen_ai.tool.name") || a.Has("tool.name"))
            return SpanKinds.Tool;
        return SpanKinds.Other;
    }

    /// <summary><c>error.type</c> and <c>exception</c> events mark a failed span (GenAI and general conventions);
    /// the span's own status wins where it is set (see the mapper).</summary>
    private void ReadErrors(OtlpSpan span, OtlpAttributes a)
    {
        for (var i = 0; i < span.Events.Count; i++)
        {
            var e = span.Events[i];
            if (e.Name != "exception")
                continue;
            var attributes = new OtlpAttributes(e.Attributes);
            var type = attributes.String("exception.type");
            var message = attributes.String("exception.message");
            Failed = true;
            ErrorMessage ??= (type, message) switch
            {
                ({ Length: > 0 }, { Length: > 0 }) => $"{type}: {message}",
                _ => message ?? type ?? "exception",
            };
        }
        if (a.String("error.type") is { Length: > 0 } errorType)
        {
            Failed = true;
            ErrorMessage ??= errorType;
        }
    }

    /// <summary>Tool calls: <c>gen_ai.tool.call.arguments</c>/<c>.result</c> are the tool's input and output.</summary>
    private void ReadTool(OtlpAttributes a)
    {
        if (a.Get("gen_ai.tool.call.arguments") is { } arguments)
        {
            Input = JsonPayload.FromValue(arguments);
            a.Consume("gen_ai.tool.call.arguments");
        }
        if (a.Get("gen_ai.tool.call.result") is { } result)
        {
            Output = JsonPayload.FromValue(result);
            a.Consume("gen_ai.tool.call.result");
        }
    }

    private void ReadMessages(OtlpSpan span, OtlpAttributes a)
    {
        // Current conventions: JSON attributes in the parts schema, taken as sent (system instructions become a
        // leading system message so one array holds the whole prompt).
        if (Input is null && a.Get("gen_ai.input.messages") is { } inputMessages)
        {
            // Taken as sent when there is nothing to prepend (the common case: copied once, never parsed here).
            if (a.Get("gen_ai.system_instructions") is not { } instructions)
                Input = JsonPayload.FromValue(inputMessages);
            else
            {
                var messages = ValueAsJson(inputMessages);
                if (messages.ValueKind != JsonValueKind.Array)
                    Input = messages;
                else
                {
                    Input = SystemThenMessages(instructions, messages);
                    a.Consume("gen_ai.system_instructions");
                }
            }
            a.Consume("gen_ai.input.messages");
        }
        else if (Input is null && a.Get("gen_ai.system_instructions") is { } onlyInstructions)
        {
            Input = SystemThenMessages(onlyInstructions, null);
            a.Consume("gen_ai.system_instructions");
        }
        if (Output is null && a.Get("gen_ai.output.messages") is { } outputMessages)
        {
            Output = JsonPayload.FromValue(outputMessages);
            a.Consume("gen_ai.output.messages");
        }

        ReadMessageEvents(span);

        // OpenLLMetry indexed attributes, current and older names.
        Input ??= Indexed(a, "gen_ai.prompt.", "user");
        Output ??= Indexed(a, "gen_ai.completion.", "assistant");
        Input ??= Indexed(a, "llm.prompts.", "user");
        Output ??= Indexed(a, "llm.completions.", "assistant");

        // OpenInference flattened messages.
        if (Input is null && a.AnyWithPrefix("llm.input_messages."))
            Input = ChatMessage.ToPayload(ChatMessage.FromOpenInference(a, "llm.input_messages.", "user"));
        if (Output is null && a.AnyWithPrefix("llm.output_messages."))
            Output = ChatMessage.ToPayload(ChatMessage.FromOpenInference(a, "llm.output_messages.", "assistant"));
    }

    /// <summary>
    /// The span-event form of the GenAI conventions (semconv 1.27-1.36) and Semantic Kernel's prompt/completion events.
    /// Mapped events are consumed; any other event (exceptions included) stays in <c>otel.events</c>.
    /// </summary>
    private void ReadMessageEvents(OtlpSpan span)
    {
        if (span.Events.Count == 0)
            return;
        var input = new List<ChatMessage>();
        var output = new List<ChatMessage>();
        var inputEvents = new List<int>();
        var outputEvents = new List<int>();
        JsonElement? skPrompt = null, skCompletion = null;
        for (var i = 0; i < span.Events.Count; i++)
        {
            var e = span.Events[i];
            var role = e.Name switch
            {
                "gen_ai.system.message" => "system",
                "gen_ai.user.message" => "user",
                "gen_ai.assistant.message" => "assistant",
                "gen_ai.tool.message" => "tool",
                "gen_ai.choice" => "assistant",
                _ => null,
            };
            if (role is not null)
            {
                var message = ChatMessage.FromOpenAiStyle(EventBody(e.Attributes), role);
                (e.Name == "gen_ai.choice" ? output : input).Add(message);
                (e.Name == "gen_ai.choice" ? outputEvents : inputEvents).Add(i);
            }
            else if (e.Name == "gen_ai.content.prompt" && new OtlpAttributes(e.Attributes).Get("gen_ai.prompt") is { } prompt)
            {
                skPrompt ??= SemanticKernelMessages(ValueAsJson(prompt), "user");
                inputEvents.Add(i);
            }
            else if (e.Name == "gen_ai.content.completion" && new OtlpAttributes(e.Attributes).Get("gen_ai.completion") is { } completion)
            {
                skCompletion ??= SemanticKernelMessages(ValueAsJson(completion), "assistant");
                outputEvents.Add(i);
            }
        }
        if (Input is null && (input.Count > 0 || skPrompt is not null))
        {
            Input = input.Count > 0 ? ChatMessage.ToPayload(input) : skPrompt!.Value;
            (consumedEvents ??= []).UnionWith(inputEvents);
        }
        if (Output is null && (output.Count > 0 || skCompletion is not null))
        {
            Output = output.Count > 0 ? ChatMessage.ToPayload(output) : skCompletion!.Value;
            (consumedEvents ??= []).UnionWith(outputEvents);
        }
    }

    /// <summary>An event's body: <c>gen_ai.event.content</c> (JSON text) when present, else the event's other attributes as an object.</summary>
    private static JsonElement EventBody(Google.Protobuf.Collections.RepeatedField<KeyValue> attributes)
    {
        var a = new OtlpAttributes(attributes);
        if (JsonText.TryParseStructured(a.String("gen_ai.event.content")) is { } content)
            return content;
        return JsonText.Build(w =>
        {
            w.WriteStartObject();
            foreach (var key in a.Keys)
            {
                if (key == "gen_ai.system" || key == "gen_ai.provider.name")
                    continue;
                w.WritePropertyName(key);
                var value = a.Get(key)!;
                // tool_calls and message arrive as JSON strings when the sender could not send structured values.
                if (value.ValueCase == AnyValue.ValueOneofCase.StringValue && key is "tool_calls" or "message")
                    JsonText.WriteMaybeJson(w, value.StringValue);
                else
                    OtlpAttributes.Write(w, value);
            }
            w.WriteEndObject();
        });
    }

    /// <summary>Semantic Kernel writes the chat history as a JSON array of OpenAI-style messages; normalise it when it is one.</summary>
    private static JsonElement SemanticKernelMessages(JsonElement value, string defaultRole)
    {
        if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(m => m.ValueKind != JsonValueKind.Object))
            return value;
        return ChatMessage.ToJson(value.EnumerateArray().Select(m => ChatMessage.FromOpenAiStyle(m, defaultRole)).ToList());
    }

    private static JsonPayload? Indexed(OtlpAttributes a, string prefix, string defaultRole)
    {
        if (!a.AnyWithPrefix(prefix))
            return null;
        var messages = ChatMessage.FromIndexed(a, prefix, defaultRole);
        return messages.Count > 0 ? ChatMessage.ToPayload(messages) : null;
    }

    /// <summary>Generic inputs and outputs: OpenInference retrieval/embedding/value attributes, traceloop entities,
    /// single-valued <c>gen_ai.prompt</c>/<c>gen_ai.completion</c>, tool arguments on non-tool spans.</summary>
    private void ReadGeneric(OtlpAttributes a)
    {
        if (Kind == SpanKinds.Embedding && Input is null && a.AnyWithPrefix("embedding.embeddings."))
        {
            var items = a.Indexed("embedding.embeddings.", consume: false);
            var texts = items.Values.Where(i => i.ContainsKey("embedding.text")).Select(i => i["embedding.text"]).ToList();
            if (texts.Count > 0)
            {
                Input = JsonText.Build(w =>
                {
                    w.WriteStartArray();
                    foreach (var t in texts)
                        OtlpAttributes.Write(w, t);
                    w.WriteEndArray();
                });
                foreach (var index in items.Where(i => i.Value.ContainsKey("embedding.text")).Select(i => i.Key))
                    a.Consume($"embedding.embeddings.{index}.embedding.text");
            }
        }
        if (Output is null && a.AnyWithPrefix("retrieval.documents."))
        {
            var documents = a.Indexed("retrieval.documents.");
            Output = JsonText.Build(w =>
            {
                w.WriteStartArray();
                foreach (var document in documents.Values)
                {
                    w.WriteStartObject();
                    foreach (var (key, value) in document)
                    {
                        w.WritePropertyName(key.StartsWith("document.", StringComparison.Ordinal) ? key["document.".Length..] : key);
                        if (key == "document.metadata" && value.ValueCase == AnyValue.ValueOneofCase.StringValue)
                            JsonText.WriteMaybeJson(w, value.StringValue);
                        else
                            OtlpAttributes.Write(w, value);
                    }
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            });
        }

        Input ??= MimeValue(a, "input.value", "input.mime_type");
        if (Kind == SpanKinds.Llm)
            Output ??= AutoGenCreateResult(a);
        Output ??= MimeValue(a, "output.value", "output.mime_type");
        // Traceloop stores entities json.dumps'd, so a plain string output arrives as "\"text\"".
        Input ??= Structured(a, "traceloop.entity.input", anyJson: true);
        Output ??= Structured(a, "traceloop.entity.output", anyJson: true);
        Input ??= Structured(a, "gen_ai.prompt");
        Output ??= Structured(a, "gen_ai.completion");
        Input ??= Structured(a, "gen_ai.tool.call.arguments");
        Output ??= Structured(a, "gen_ai.tool.call.result");
    }

    /// <summary>OpenInference <c>input.value</c>: JSON when its mime type says so, else the text as a JSON string.</summary>
    private static JsonPayload? MimeValue(OtlpAttributes a, string key, string mimeKey)
    {
        if (a.Get(key) is not { } value)
            return null;
        a.Consume(key);
        var mime = a.String(mimeKey);
        if (mime is not null)
            a.Consume(mimeKey);
        var json = mime is not null && mime.Contains("json", StringComparison.OrdinalIgnoreCase);
        return JsonPayload.FromValue(value, json ? JsonPayload.Parse.Structured : JsonPayload.Parse.None);
    }

    private static JsonPayload? Structured(OtlpAttributes a, string key, bool anyJson = false)
    {
        if (a.Get(key) is not { } value)
            return null;
        a.Consume(key);
        return JsonPayload.FromValue(value, anyJson ? JsonPayload.Parse.Any : JsonPayload.Parse.Structured);
    }

    /// <summary>An attribute value as JSON; a string holding a JSON object or array becomes that JSON.</summary>
    /// <summary><c>gen_ai.system_instructions</c> as a leading system message, then the input messages if any.</summary>
    private static JsonElement SystemThenMessages(AnyValue instructions, JsonElement? messages) =>
        JsonText.Build(w =>
        {
            w.WriteStartArray();
            w.WriteStartObject();
            w.WriteString("role", "system");
            w.WritePropertyName("parts");
            ValueAsJson(instructions).WriteTo(w);
            w.WriteEndObject();
            if (messages is { } list)
                foreach (var m in list.EnumerateArray())
                    m.WriteTo(w);
            w.WriteEndArray();
        });

    private static JsonElement ValueAsJson(AnyValue value) =>
        value.ValueCase == AnyValue.ValueOneofCase.StringValue && JsonText.TryParseStructured(value.StringValue) is { } parsed
            ? parsed
            : JsonText.Build(w => OtlpAttributes.Write(w, value));
}
