using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace AgentStack.Sdk.Replaying;

/// <summary>
/// Re-runs a recorded trace into your own agent (issue 16): the first <see cref="ReplaySteps"/> model and tool
/// calls are answered exactly as recorded, from step <c>ReplaySteps + 1</c> on the live model and your real tools
/// answer. A call that does not match the recording (another tool, a model call where a tool call was recorded)
/// hands over to live at once. Wire it with <see cref="AgentStackReplayChatClientBuilderExtensions.UseAgentStackReplay"/>
/// (closest to the model) and <c>UseFunctionInvocation(configure: f => f.FunctionInvoker = replay.InvokeToolAsync)</c>,
/// and mark the re-run's root span with <see cref="MarkRerun(AgentStackSpan)"/> so the new trace links to the original.
/// </summary>
public sealed class AgentStackReplay
{
    private readonly Lock gate = new();
    private int taken;
    private bool live;

    /// <summary>Replays <paramref name="replaySteps"/> steps of <paramref name="run"/>.</summary>
    /// <param name="run">The recorded run.</param>
    /// <param name="replaySteps">How many model and tool calls to answer from the recording (0: all live).</param>
    public AgentStackReplay(RecordedRun run, int replaySteps)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentOutOfRangeException.ThrowIfNegative(replaySteps);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(replaySteps, run.Steps.Count);
        Run = run;
        ReplaySteps = replaySteps;
    }

    /// <summary>The recording.</summary>
    public RecordedRun Run { get; }

    /// <summary>How many steps are answered from the recording.</summary>
    public int ReplaySteps { get; }

    /// <summary>How many steps were answered from the recording so far.</summary>
    public int StepsReplayed { get { lock (gate) return taken; } }

    /// <summary>The step at which a call did not match the recording, if one did before <see cref="ReplaySteps"/>.</summary>
    public int? MismatchAtStep { get; private set; }

    /// <summary>
    /// Marks the re-run's root span: <c>agentstack.rerun.of</c> = the original trace id, <c>agentstack.rerun.step</c> =
    /// the steps replayed, and an OpenTelemetry link to the original root span.
    /// </summary>
    /// <param name="root">The re-run's root span.</param>
    public void MarkRerun(AgentStackSpan root)
    {
        root.SetAttribute(AgentStackTags.RerunOf, Run.TraceId).SetAttribute(AgentStackTags.RerunStep, ReplaySteps);
        if (root.Activity is { } activity && Run.RootSpanId is { Length: 16 } spanId && Run.TraceId.Length == 32)
        {
            activity.AddLink(new ActivityLink(new ActivityContext(
                ActivityTraceId.CreateFromString(Run.TraceId), ActivitySpanId.CreateFromString(spanId), ActivityTraceFlags.Recorded),
                new ActivityTagsCollection { [AgentStackTags.RerunStep] = ReplaySteps }));
        }
    }

    /// <summary>Takes the next recorded step if it is of <paramref name="kind"/> (and the same tool) and still within the replayed prefix.</summary>
    internal RecordedStep? TakeRecorded(string kind, string? toolName)
    {
        lock (gate)
        {
            if (live || taken >= ReplaySteps)
            {
                live = true;
                return null;
            }
            var step = Run.Steps[taken];
            if (step.Kind != kind || (kind == "tool" && !string.Equals(step.ToolName, toolName, StringComparison.Ordinal)))
            {
                live = true;
                MismatchAtStep = step.Number;
                return null;
            }
            taken++;
            return step;
        }
    }

    /// <summary>
    /// The tool-call interceptor, for <c>FunctionInvokingChatClient.FunctionInvoker</c>: a recorded tool call is
    /// answered with its recorded result (a recorded failure throws <see cref="ReplayedToolException"/> with the
    /// recorded message); otherwise the real tool runs.
    /// </summary>
    /// <param name="context">The invocation.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The tool's result.</returns>
    public ValueTask<object?> InvokeToolAsync(FunctionInvocationContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (TakeRecorded("tool", context.Function.Name) is not { } step)
            return context.Function.InvokeAsync(context.Arguments, cancellationToken);
        if (step.Status == "error")
            throw new ReplayedToolException(step.StatusMessage ?? "the recorded tool call failed");
        return ValueTask.FromResult(ToolResult(step.Output));
    }

    /// <summary>A recorded JSON string comes back as the string; any other JSON as a <see cref="JsonElement"/>.</summary>
    private static object? ToolResult(JsonNode? output) => output switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => JsonSerializer.Deserialize<JsonElement>(output.ToJsonString()),
    };

    /// <summary>
    /// The recorded answer of a model step as a <see cref="ChatResponse"/>; a recorded failure throws
    /// <see cref="ReplayedModelException"/> with the recorded message, as the call failed then.
    /// </summary>
    internal static ChatResponse ResponseOf(RecordedStep step)
    {
        if (step.Status == "error")
            throw new ReplayedModelException(step.StatusMessage ?? "the recorded model call failed");
        var messages = new List<ChatMessage>();
        ChatFinishReason? finish = null;
        switch (step.Output)
        {
            case JsonArray array:
                foreach (var message in array.OfType<JsonObject>())
                {
                    messages.Add(MessageOf(message));
                    if (message["finish_reason"] is JsonValue reason && reason.TryGetValue<string>(out var text))
                        finish = text switch { "tool_call" or "tool_calls" => ChatFinishReason.ToolCalls, "length" => ChatFinishReason.Length, _ => ChatFinishReason.Stop };
                }
                break;
            case JsonObject message:
                messages.Add(MessageOf(message));
                break;
            case JsonValue value:
                messages.Add(new ChatMessage(ChatRole.Assistant, value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : value.ToJsonString()));
                break;
            default:
                messages.Add(new ChatMessage(ChatRole.Assistant, ""));
                break;
        }
        return new ChatResponse(messages)
        {
            ModelId = step.Model,
            FinishReason = finish ?? (messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>().Any() ? ChatFinishReason.ToolCalls : ChatFinishReason.Stop),
            Usage = step.InputTokens is null && step.OutputTokens is null ? null : new UsageDetails
            {
                InputTokenCount = step.InputTokens,
                OutputTokenCount = step.OutputTokens,
                TotalTokenCount = (step.InputTokens ?? 0) + (step.OutputTokens ?? 0),
            },
        };
    }

    /// <summary>A GenAI message (<c>{"role", "parts":[{"type":"text","content"}|{"type":"tool_call","id","name","arguments"}]}</c>).</summary>
    private static ChatMessage MessageOf(JsonObject message)
    {
        var role = message["role"] is JsonValue r && r.TryGetValue<string>(out var roleText) ? new ChatRole(roleText) : ChatRole.Assistant;
        var contents = new List<AIContent>();
        foreach (var part in message["parts"]?.AsArray().OfType<JsonObject>() ?? [])
        {
            var type = part["type"]?.GetValue<string>();
            if (type == "text")
                contents.Add(new TextContent(part["content"]?.GetValue<string>()));
            else if (type == "tool_call")
            {
                var arguments = part["arguments"] is JsonObject args
                    ? args.ToDictionary(a => a.Key, a => (object?)(a.Value is JsonValue v && v.GetValueKind() == JsonValueKind.String
                        ? v.GetValue<string>() : a.Value is null ? null : JsonSerializer.Deserialize<JsonElement>(a.Value.ToJsonString())))
                    : null;
                contents.Add(new FunctionCallContent(part["id"]?.GetValue<string>() ?? "", part["name"]?.GetValue<string>() ?? "", arguments));
            }
        }
        if (contents.Count == 0 && message["content"] is JsonValue content && content.TryGetValue<string>(out var contentText))
            contents.Add(new TextContent(contentText));
        return new ChatMessage(role, contents);
    }
}

/// <summary>A recorded tool call failed; the replay fails it again with the recorded message.</summary>
/// <param name="message">The recorded status message.</param>
public sealed class ReplayedToolException(string message) : Exception(message);

/// <summary>A recorded model call failed; the replay fails it again with the recorded message.</summary>
/// <param name="message">The recorded status message.</param>
public sealed class ReplayedModelException(string message) : Exception(message);

/// <summary>Answers model calls from the recording while the replay is in its recorded prefix, then calls the live model.</summary>
internal sealed class ReplayingChatClient(IChatClient live, AgentStackReplay replay) : DelegatingChatClient(live)
{
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default) =>
        replay.TakeRecorded("llm", null) is { } step
            ? AgentStackReplay.ResponseOf(step)
            : await base.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages,
        ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (replay.TakeRecorded("llm", null) is { } step)
        {
            foreach (var update in AgentStackReplay.ResponseOf(step).ToChatResponseUpdates())
                yield return update;
            yield break;
        }
        await foreach (var update in base.GetStreamingResponseAsync(messages, options, cancellationToken).ConfigureAwait(false))
            yield return update;
    }
}
