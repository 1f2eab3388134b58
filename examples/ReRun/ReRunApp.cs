using System.Globalization;
using System.Text.Json.Nodes;
using AgentStack.Examples.ResearchAgent;
using AgentStack.Sdk.Replaying;
using Microsoft.Extensions.AI;

namespace AgentStack.Examples.ReRun;

/// <summary>What a re-run produced: the new trace, the original, and how many recorded steps were replayed.</summary>
public sealed record ReRunResult(int ExitCode, string OriginalTraceId, string TraceId, int StepsReplayed, int? MismatchAtStep, DemoResult Demo);

/// <summary>
/// Re-runs a recorded research-agent trace (issue 16): fetches it from the read API, answers its first N model and
/// tool calls as recorded, and lets the live model and tools (the pricing tool changed if asked) take over from step
/// N+1. The new trace's root carries <c>agentstack.rerun.of</c> and a link to the original, ready for the comparison view.
/// </summary>
public static class ReRunApp
{
    public static async Task<ReRunResult> RunAsync(ReRunOptions options, TextWriter log, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(log);
        var recorded = await RecordedRun.LoadAsync(options.Endpoint, options.ApiKey ?? "", options.TraceId, options.Project, ct);
        var replay = new AgentStackReplay(recorded, Math.Min(options.ReplaySteps, recorded.Steps.Count));
        // The research agent chooses its question and its failures by run index: repeat the original's.
        var index = recorded.RootAttributes?["run.index"] is JsonValue v && v.TryGetValue<int>(out var i) ? i : 0;
        await log.WriteLineAsync($"re-running trace {recorded.TraceId} (run {index}): {replay.ReplaySteps} of {recorded.Steps.Count} "
            + "model and tool calls as recorded, then live" + (options.Price is { } p ? $", pricing tool changed to {p} USD" : ""));

        var demo = await ResearchAgentApp.RunAsync(new DemoOptions
        {
            Runs = 1,
            FirstRunIndex = index,
            Endpoint = options.Endpoint,
            ApiKey = options.ApiKey,
            ForceLocalModel = options.ForceLocalModel,
            ChatPipeline = model => new ChatClientBuilder(model)
                .UseFunctionInvocation(configure: f =>
                {
                    f.IncludeDetailedErrors = true;
                    f.FunctionInvoker = replay.InvokeToolAsync;
                })
                .UseAgentStack()
                .UseAgentStackReplay(replay)
                .Build(),
            PricingTool = options.Price is { } price
                ? (product, _) => Task.FromResult($"{product} team plan is {price.ToString(CultureInfo.InvariantCulture)} USD per seat per month")
                : null,
            OnRunStarted = replay.MarkRerun,
        }, log, ct);

        var traceId = demo.Runs.Single().TraceId;
        await log.WriteLineAsync($"re-run trace {traceId}: {replay.StepsReplayed} step(s) replayed"
            + (replay.MismatchAtStep is { } m ? $", the agent left the recording at step {m}" : "")
            + $"; compare: /compare?left={recorded.TraceId}&right={traceId}");
        return new ReRunResult(demo.ExitCode, recorded.TraceId, traceId, replay.StepsReplayed, replay.MismatchAtStep, demo);
    }
}
