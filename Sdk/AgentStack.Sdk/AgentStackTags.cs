namespace AgentStack.Sdk;

/// <summary>
/// The activity tags and custom properties the SDK reads when it turns an activity into a span.
/// Model, provider and usage use the OpenTelemetry GenAI semantic conventions, so any GenAI-instrumented
/// library on an AgentStack source is understood, and OpenTelemetry exporters see the same values.
/// </summary>
public static class AgentStackTags
{
    /// <summary>Custom property holding the captured input (a <see cref="System.Text.Json.Nodes.JsonNode"/>); never a tag, so OTel exporters do not ship payloads.</summary>
    public const string Input = "agentstack.input";

    /// <summary>Custom property holding the captured output (a <see cref="System.Text.Json.Nodes.JsonNode"/>).</summary>
    public const string Output = "agentstack.output";

    /// <summary>Tag overriding the span kind when the activity's operation name is not one of <see cref="AgentStackSpanKind"/>.</summary>
    public const string Kind = "agentstack.kind";

    /// <summary>Tag overriding the span name (the activity's display name otherwise).</summary>
    public const string Name = "agentstack.name";

    /// <summary>Tag holding the cost in US dollars (invariant-culture decimal text).</summary>
    public const string CostUsd = "agentstack.cost_usd";

    /// <summary>GenAI: the model asked for.</summary>
    public const string RequestModel = "gen_ai.request.model";

    /// <summary>GenAI: the model that answered (preferred over the requested model).</summary>
    public const string ResponseModel = "gen_ai.response.model";

    /// <summary>GenAI: the provider, e.g. <c>openai</c>.</summary>
    public const string Provider = "gen_ai.provider.name";

    /// <summary>GenAI: prompt tokens.</summary>
    public const string InputTokens = "gen_ai.usage.input_tokens";

    /// <summary>GenAI: completion tokens.</summary>
    public const string OutputTokens = "gen_ai.usage.output_tokens";

    /// <summary>GenAI: the operation (chat, embeddings, execute_tool, invoke_agent, ...).</summary>
    public const string OperationName = "gen_ai.operation.name";

    /// <summary>OpenTelemetry: the type of the error that failed the span.</summary>
    public const string ErrorType = "error.type";

    /// <summary>The conversation or session a run belongs to (the dashboard groups traces by it: docs/dashboard.md).</summary>
    public const string SessionId = "session.id";

    /// <summary>The end user a run serves (a trace-list filter; also the erasure subject when no other is set).</summary>
    public const string UserId = "user.id";

    /// <summary>On a re-run's root span: the trace id of the run it re-runs (issue 16).</summary>
    public const string RerunOf = "agentstack.rerun.of";

    /// <summary>On a re-run's root span: how many model and tool calls were answered from the recording.</summary>
    public const string RerunStep = "agentstack.rerun.step";
}
