using System.Diagnostics;
using System.Runtime.CompilerServices;
using AgentStack.Sdk;
using Microsoft.Extensions.AI;

namespace Microsoft.Agents.AI;

/// <summary>
/// Wraps an <see cref="AIAgent"/> so every run is an AgentStack agent span holding the messages sent and
/// received. Microsoft.Agents.AI 1.28 emits no activities of its own, so this delegating agent is the hook.
/// </summary>
/// <remarks>
/// The span is an OpenTelemetry GenAI <c>invoke_agent</c> activity with content capture marked on, which is
/// what Microsoft.Extensions.AI's function-invoking client looks for: tool calls made inside the run are
/// recorded by it as <c>execute_tool</c> spans on this agent's source, with arguments and results.
/// A run that starts inside another instrumented agent's run (an agent used as a tool with
/// <c>AsAIFunction()</c>) is a hand-off: its span carries <c>agentstack.handoff.from</c> and
/// <c>agentstack.handoff.to</c>.
/// </remarks>
public sealed class AgentStackAgent : DelegatingAIAgent
{
    /// <summary>The activity source of agent spans.</summary>
    public const string SourceName = AgentStackTracer.SourceNamePrefix + "Agents";

    // Microsoft.Extensions.AI recognises an agent span by this display name and reads content capture from this property.
    private const string InvokeAgent = "invoke_agent";
    private const string SensitiveDataProperty = "__EnableSensitiveData__";

    private static readonly ActivitySource Source = new(SourceName);
    private readonly bool capturePayloads;

    /// <summary>Wraps <paramref name="innerAgent"/>.</summary>
    /// <param name="innerAgent">The agent to trace.</param>
    /// <param name="capturePayloads">Record messages, tool arguments and results (default).</param>
    public AgentStackAgent(AIAgent innerAgent, bool capturePayloads = true)
        : base(innerAgent) => this.capturePayloads = capturePayloads;

    /// <inheritdoc />
    protected override async Task<AgentResponse> RunCoreAsync(IEnumerable<ChatMessage> messages, AgentSession? session = null,
        AgentRunOptions? options = null, CancellationToken cancellationToken = default)
    {
        var list = messages as IReadOnlyCollection<ChatMessage> ?? messages.ToList();
        using var activity = Start(list);
        try
        {
            var response = await base.RunCoreAsync(list, session, options, cancellationToken).ConfigureAwait(false);
            Complete(activity, response);
            return response;
        }
        catch (Exception e)
        {
            Fail(activity, e);
            throw;
        }
    }

    /// <inheritdoc />
    protected override async IAsyncEnumerable<AgentResponseUpdate> RunCoreStreamingAsync(IEnumerable<ChatMessage> messages,
        AgentSession? session = null, AgentRunOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var list = messages as IReadOnlyCollection<ChatMessage> ?? messages.ToList();
        using var activity = Start(list);
        var updates = activity is null ? null : new List<AgentResponseUpdate>();
        await using var enumerator = base.RunCoreStreamingAsync(list, session, options, cancellationToken)
            .GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            // Each MoveNextAsync resumes this iterator in the caller's context, where the run's span is not current
            // (dotnet/runtime#47802): without this, what the inner agent does after its first update would be
            // recorded under the caller's span.
            if (activity is not null)
                Activity.Current = activity;
            AgentResponseUpdate update;
            try
            {
                if (!await enumerator.MoveNextAsync().ConfigureAwait(false))
                    break;
                update = enumerator.Current;
            }
            catch (Exception e)
            {
                Fail(activity, e);
                throw;
            }
            updates?.Add(update);
            yield return update;
        }
        if (activity is not null)
            Complete(activity, updates!.ToAgentResponse());
    }

    private Activity? Start(IReadOnlyCollection<ChatMessage> messages)
    {
        var activity = Source.StartActivity(InvokeAgent);
        if (activity is null)
            return null;
        var name = Name ?? Id;
        activity.DisplayName = InvokeAgent;
        activity.SetCustomProperty(SensitiveDataProperty, capturePayloads ? "true" : "false");
        if (!activity.IsAllDataRequested)
            return activity;
        activity.SetTag(AgentStackTags.Kind, AgentStackSpanKind.Agent);
        activity.SetTag(AgentStackTags.Name, $"{InvokeAgent} {name}");
        activity.SetTag(AgentStackTags.OperationName, InvokeAgent);
        activity.SetTag("gen_ai.agent.name", name);
        activity.SetTag("gen_ai.agent.id", Id);
        if (Description is not null)
            activity.SetTag("gen_ai.agent.description", Description);
        if (ParentAgent(activity) is { } from)
        {
            activity.SetTag("agentstack.handoff.from", from);
            activity.SetTag("agentstack.handoff.to", name);
        }
        if (capturePayloads)
            new AgentStackSpan(activity).SetInput(messages);
        return activity;
    }

    private static string? ParentAgent(Activity activity)
    {
        for (var parent = activity.Parent; parent is not null; parent = parent.Parent)
        {
            if (parent.Source.Name == SourceName && parent.GetTagItem("gen_ai.agent.name") is string name)
                return name;
        }
        return null;
    }

    private void Complete(Activity? activity, AgentResponse response)
    {
        if (activity is not { IsAllDataRequested: true })
            return;
        if (capturePayloads)
            new AgentStackSpan(activity).SetOutput(response.Messages);
        // Usage stays an attribute: the llm spans below carry the tokens, and the trace would count them twice.
        if (response.Usage is { } usage)
        {
            activity.SetTag("agent.usage.input_tokens", usage.InputTokenCount);
            activity.SetTag("agent.usage.output_tokens", usage.OutputTokenCount);
        }
        if (response.ResponseId is not null)
            activity.SetTag("gen_ai.response.id", response.ResponseId);
    }

    private static void Fail(Activity? activity, Exception e)
    {
        if (activity is null)
            return;
        activity.SetStatus(ActivityStatusCode.Error, e.Message);
        activity.SetTag(AgentStackTags.ErrorType, e.GetType().FullName);
    }
}
