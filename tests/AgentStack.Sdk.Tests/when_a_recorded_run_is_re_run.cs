using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AgentStack.Examples.ReRun;
using AgentStack.Examples.ResearchAgent;
using AgentStack.Sdk.Replaying;
using AgentStack.Testing;

namespace AgentStack.Sdk.Tests;

/// <summary>
/// Issue 16 end to end: two demo-agent runs recorded through the SDK with start records, then run 1 re-run
/// (examples/ReRun) from its second step with a changed pricing tool: the first model call is answered as
/// recorded, the tool and everything after it run live.
/// </summary>
public sealed class when_a_recorded_run_is_re_run(when_a_recorded_run_is_re_run.ReRunFixture fixture) : IClassFixture<when_a_recorded_run_is_re_run.ReRunFixture>
{
    public sealed class ReRunFixture : IAsyncLifetime
    {
        public ServerProcess Server { get; private set; } = null!;
        public DemoResult Demo { get; private set; } = null!;
        public ReRunResult ReRun { get; private set; } = null!;

        public async ValueTask InitializeAsync()
        {
            Server = await ServerProcess.StartAsync();
            Demo = await ResearchAgentApp.RunAsync(new DemoOptions
            {
                Runs = 2,
                Endpoint = Server.BaseAddress,
                ApiKey = ServerProcess.BootstrapKey,
                ForceLocalModel = true,
            }, TextWriter.Null, CancellationToken.None);
            Demo.ExitCode.ShouldBe(0, Demo.Statistics.LastError);
            await Server.WaitForProjectionAsync();
            ReRun = await ReRunApp.RunAsync(new ReRunOptions
            {
                TraceId = Demo.Runs[0].TraceId,
                ReplaySteps = 1,
                Price = 99m,
                Endpoint = Server.BaseAddress,
                ApiKey = ServerProcess.BootstrapKey,
                ForceLocalModel = true,
            }, TextWriter.Null, CancellationToken.None);
            ReRun.ExitCode.ShouldBe(0, ReRun.Demo.Statistics.LastError);
            await Server.WaitForProjectionAsync();
        }

        public async ValueTask DisposeAsync() => await Server.DisposeAsync();
    }

    private readonly ServerProcess server = fixture.Server;
    private string Original => fixture.Demo.Runs[0].TraceId;

    private async Task<RecordedRun> RecordedAsync(string traceId) =>
        await RecordedRun.LoadAsync(server.Client, "default", traceId, TestContext.Current.CancellationToken);

    [Fact]
    public async Task then_the_replay_of_an_sdk_run_starts_with_the_root_agent_and_every_start_precedes_its_completion()
    {
        var body = await server.Client.GetStringAsync(new Uri($"/api/projects/default/traces/{Original}/replay", UriKind.Relative), TestContext.Current.CancellationToken);
        var events = body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();

        var first = events[0];
        first["type"]!.GetValue<string>().ShouldBe("span.started.v1");
        first["data"]!["span"]!["kind"]!.GetValue<string>().ShouldBe("agent");
        first["data"]!["span"]!["name"]!.GetValue<string>().ShouldBe("research-agent");
        first["data"]!["span"]!["parentSpanId"].ShouldBeNull();
        first["data"]!["span"]!["endTime"].ShouldBeNull();

        var startedAt = new Dictionary<string, int>();
        for (var i = 0; i < events.Count; i++)
        {
            var span = events[i]["data"]!["span"]!;
            var id = span["spanId"]!.GetValue<string>();
            if (events[i]["type"]!.GetValue<string>() == "span.started.v1")
                startedAt[id] = i;
            else if (span["kind"]!.GetValue<string>() is "agent" or "chain" or "tool")
                startedAt.ShouldContainKey(id, $"the {span["kind"]} span {span["name"]} is sent when it starts");
        }
        // The root completes last: the stream follows the order things happened.
        events[^1]["data"]!["span"]!["name"]!.GetValue<string>().ShouldBe("research-agent");
        events[^1]["type"]!.GetValue<string>().ShouldBe("span.completed.v1");
    }

    [Fact]
    public async Task then_the_recorded_prefix_is_identical_and_the_changed_tool_answers_live()
    {
        fixture.ReRun.StepsReplayed.ShouldBe(1);
        fixture.ReRun.MismatchAtStep.ShouldBeNull();
        var original = await RecordedAsync(Original);
        var rerun = await RecordedAsync(fixture.ReRun.TraceId);

        original.Steps.Select(s => s.Kind).ShouldBe(["llm", "tool", "llm", "llm"]);
        rerun.Steps.Select(s => s.Kind).ShouldBe(["llm", "tool", "llm", "llm"]);
        JsonNode.DeepEquals(rerun.Steps[0].Input, original.Steps[0].Input).ShouldBeTrue("the agent sent the same prompt");
        JsonNode.DeepEquals(rerun.Steps[0].Output, original.Steps[0].Output).ShouldBeTrue("the model call was answered as recorded");
        rerun.Steps[0].InputTokens.ShouldBe(original.Steps[0].InputTokens);
        rerun.Steps[0].Output!.ToJsonString().ShouldContain("get_pricing");

        rerun.Steps[1].ToolName.ShouldBe("get_pricing");
        JsonNode.DeepEquals(rerun.Steps[1].Input, original.Steps[1].Input).ShouldBeTrue("the recorded tool call's arguments");
        original.Steps[1].Output!.ToJsonString().ShouldContain("49 USD");
        rerun.Steps[1].Output!.ToJsonString().ShouldContain("99 USD", Case.Sensitive, "the changed tool ran live");
        rerun.Steps[2].Output!.ToJsonString().ShouldContain("99 USD", Case.Sensitive, "the live model saw the new tool result");
    }

    [Fact]
    public async Task then_the_new_trace_links_to_the_original()
    {
        var rerun = await StoredTrace.GetAsync(server, fixture.ReRun.TraceId);
        rerun.Root["attributes"]!["agentstack.rerun.of"]!.GetValue<string>().ShouldBe(Original);
        rerun.Root["attributes"]!["agentstack.rerun.step"]!.GetValue<long>().ShouldBe(1);
        fixture.ReRun.TraceId.ShouldNotBe(Original);
    }

    [Fact]
    public async Task then_the_comparison_shows_the_first_divergence_at_the_tool_output()
    {
        var comparison = await server.Client.GetFromJsonAsync<JsonNode>(
            new Uri($"/api/projects/default/compare?left={Original}&right={fixture.ReRun.TraceId}", UriKind.Relative), TestContext.Current.CancellationToken);

        var divergence = comparison!["firstDivergence"]!;
        divergence["label"]!.GetValue<string>().ShouldBe("tool output");
        var step = comparison["steps"]!.AsArray()[divergence["index"]!.GetValue<int>()]!;
        step["left"]!["name"]!.GetValue<string>().ShouldBe("execute_tool get_pricing");
        step["right"]!["name"]!.GetValue<string>().ShouldBe("execute_tool get_pricing");
        comparison["right"]!["rerunOf"]!.GetValue<string>().ShouldBe(Original);
        // Every step before it is the same on both sides.
        foreach (var before in comparison["steps"]!.AsArray().Take(divergence["index"]!.GetValue<int>()))
            before!["differences"]!.AsArray().Where(d => d!.GetValue<string>() != "output").ShouldBeEmpty();
    }

    [Fact]
    public async Task then_sessions_and_users_filter_the_trace_list_and_total_per_session()
    {
        var ct = TestContext.Current.CancellationToken;
        // Runs 0 and 1 form session-1; the re-run repeats run 0, so it joins that session too.
        var inSession = await server.Client.GetFromJsonAsync<JsonNode>(new Uri("/api/projects/default/traces?sessionId=session-1", UriKind.Relative), ct);
        inSession!["items"]!.AsArray().Select(t => t!["traceId"]!.GetValue<string>())
            .ShouldBe([fixture.Demo.Runs[0].TraceId, fixture.Demo.Runs[1].TraceId, fixture.ReRun.TraceId], ignoreOrder: true);
        var byUser = await server.Client.GetFromJsonAsync<JsonNode>(new Uri("/api/projects/default/trace-search?userId=user-2", UriKind.Relative), ct);
        byUser!["items"]!.AsArray().Select(t => t!["traceId"]!.GetValue<string>()).ShouldBe([fixture.Demo.Runs[1].TraceId]);

        var session = await server.Client.GetFromJsonAsync<JsonNode>(new Uri("/api/projects/default/sessions/session-1", UriKind.Relative), ct);
        var traces = session!["traces"]!.AsArray();
        traces.Select(t => t!["traceId"]!.GetValue<string>()).ShouldBe([fixture.Demo.Runs[0].TraceId, fixture.Demo.Runs[1].TraceId, fixture.ReRun.TraceId]);
        session["session"]!["traceCount"]!.GetValue<int>().ShouldBe(3);
        session["session"]!["userIds"]!.AsArray().Select(u => u!.GetValue<string>()).ShouldBe(["user-1", "user-2"]);
        session["session"]!["inputTokens"]!.GetValue<long>().ShouldBe(traces.Sum(t => t!["inputTokens"]!.GetValue<long>()));
        session["session"]!["costUsd"]!.GetValue<decimal>().ShouldBe(traces.Sum(t => t!["costUsd"]!.GetValue<decimal>()));

        var list = await server.Client.GetFromJsonAsync<JsonNode>(new Uri("/api/projects/default/sessions", UriKind.Relative), ct);
        list!["items"]!.AsArray().Select(s => s!["sessionId"]!.GetValue<string>()).ShouldBe(["session-1"]);
        (await server.Client.GetAsync(new Uri("/api/projects/default/sessions/nope", UriKind.Relative), ct)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }
}
