using System.Globalization;
using System.Text.Json.Nodes;
using AgentStack.Examples.ResearchAgent;
using AgentStack.Testing;

namespace AgentStack.Sdk.Tests;

/// <summary>The demo agent (called through its entry class) against the real server: six runs cover every
/// intentional failure and injection, back-filled over two days.</summary>
public sealed class when_the_demo_agent_runs(when_the_demo_agent_runs.DemoFixture fixture) : IClassFixture<when_the_demo_agent_runs.DemoFixture>
{
    public sealed class DemoFixture : IAsyncLifetime
    {
        public ServerProcess Server { get; private set; } = null!;
        public DemoResult Result { get; private set; } = null!;

        public async ValueTask InitializeAsync()
        {
            Server = await ServerProcess.StartAsync();
            Result = await ResearchAgentApp.RunAsync(new DemoOptions
            {
                Runs = 6,
                BackfillDays = 2,
                Endpoint = Server.BaseAddress,
                ApiKey = ServerProcess.BootstrapKey,
                ForceLocalModel = true,
            }, TextWriter.Null, CancellationToken.None);
        }

        public async ValueTask DisposeAsync() => await Server.DisposeAsync();
    }

    private readonly ServerProcess server = fixture.Server;
    private readonly DemoResult result = fixture.Result;

    [Fact]
    public void then_every_span_is_exported_and_none_dropped()
    {
        result.ExitCode.ShouldBe(0);
        result.Statistics.Dropped.ShouldBe(0);
        result.Statistics.Failed.ShouldBe(0);
        result.Statistics.Exported.ShouldBe(result.Statistics.Enqueued);
        result.Runs.Count.ShouldBe(6);
    }

    [Fact]
    public async Task then_a_run_is_a_tree_of_agent_guardrail_retrieval_chain_llm_and_tool_spans()
    {
        var run = result.Runs[0];
        var trace = await StoredTrace.GetAsync(server, run.TraceId);

        var root = trace.Root;
        StoredTrace.Name(root).ShouldBe("research-agent");
        StoredTrace.Kind(root).ShouldBe("agent");
        root["input"]!["question"]!.GetValue<string>().ShouldBe("How does AgentStack help developers debug failed agent runs?");
        root["input"]!["customer"]!.GetValue<string>().ShouldBe("[email]", "the redaction hook masks e-mail addresses");
        trace.ChildrenOf(root).Select(StoredTrace.Name).ShouldBe(["input-guard", "vector-search", "summarize", "write-email"], ignoreOrder: true);

        var retrieval = trace.Single("vector-search");
        StoredTrace.Kind(retrieval).ShouldBe("retrieval");
        retrieval["output"]!.AsArray().Count.ShouldBe(3);
        var embedding = trace.OfKind("embedding").ShouldHaveSingleItem();
        trace.Parent(embedding)!.ShouldBe(retrieval);
        embedding["model"]!.GetValue<string>().ShouldBe("hash-bow-256");
        embedding["inputTokens"]!.GetValue<long>().ShouldBeGreaterThan(0);

        var summarize = trace.Single("summarize");
        var llms = trace.OfKind("llm").Where(s => trace.IsUnder(s, summarize)).ToList();
        llms.Count.ShouldBe(2, "the model asks for the tool, then answers");
        foreach (var llm in llms)
        {
            llm["model"]!.GetValue<string>().ShouldBe(LocalChatClient.ModelId);
            llm["provider"]!.GetValue<string>().ShouldBe("agentstack-local");
            llm["inputTokens"]!.GetValue<long>().ShouldBeGreaterThan(0);
            llm["outputTokens"]!.GetValue<long>().ShouldBeGreaterThan(0);
            llm["costUsd"]!.GetValue<decimal>().ShouldBeGreaterThan(0m);
            llm["input"]!.AsArray()[0]!["role"]!.GetValue<string>().ShouldBe("system");
        }
        llms[0]["output"]!.ToJsonString().ShouldContain("\"tool_call\"");
        llms[0]["output"]!.ToJsonString().ShouldContain("get_pricing");

        var tool = trace.OfKind("tool").ShouldHaveSingleItem();
        trace.IsUnder(tool, summarize).ShouldBeTrue();
        StoredTrace.Status(tool).ShouldBe("ok");
        tool["input"]!["product"]!.GetValue<string>().ShouldBe("AgentStack");
        tool["output"]!.GetValue<string>().ShouldBe("AgentStack team plan is 49 USD per seat per month");
        tool["attributes"]!["gen_ai.tool.name"]!.GetValue<string>().ShouldBe("get_pricing");

        var email = trace.Single("write-email");
        email["output"]!.GetValue<string>().ShouldStartWith("Subject: Your research summary");
        var streamed = trace.OfKind("llm").Single(s => trace.IsUnder(s, email));
        streamed["attributes"]!["gen_ai.request.stream"]!.GetValue<bool>().ShouldBeTrue();
        streamed["output"]!.ToJsonString().ShouldContain("Your research summary", customMessage: "the streamed chunks are recorded as one answer");

        // Token totals come only from llm and embedding spans.
        trace.Spans.Where(s => StoredTrace.Kind(s) is not ("llm" or "embedding"))
            .ShouldAllBe(s => s["inputTokens"] == null && s["outputTokens"] == null);
    }

    [Fact]
    public async Task then_the_tool_timeout_is_an_error_span_and_the_run_recovers()
    {
        var run = result.Runs[1];
        run.ToolTimedOut.ShouldBeTrue();
        var trace = await StoredTrace.GetAsync(server, run.TraceId);

        var tool = trace.OfKind("tool").ShouldHaveSingleItem();
        StoredTrace.Status(tool).ShouldBe("error");
        tool["statusMessage"]!.GetValue<string>().ShouldBe("the pricing service did not answer within 150 ms");
        tool["attributes"]!["error.type"]!.GetValue<string>().ShouldBe("System.TimeoutException");
        StoredTrace.Status(trace.Root).ShouldBe("ok");
        trace.Single("summarize")["output"]!.GetValue<string>().ShouldContain("Pricing could not be confirmed");
    }

    [Fact]
    public async Task then_the_malformed_answer_fails_its_parse_and_the_repair_succeeds()
    {
        var run = result.Runs[2];
        run.MalformedAnswer.ShouldBeTrue();
        var trace = await StoredTrace.GetAsync(server, run.TraceId);

        var draft = trace.Single("draft-email");
        StoredTrace.Status(draft).ShouldBe("error");
        draft["statusMessage"]!.GetValue<string>().ShouldStartWith("the model's e-mail is not valid JSON");
        var repair = trace.Single("repair-email");
        StoredTrace.Status(repair).ShouldBe("ok");
        trace.Parent(draft).ShouldBe(trace.Parent(repair));
        run.Email.ShouldNotBeNull();
    }

    [Fact]
    public async Task then_both_prompt_injections_are_caught_by_guardrail_spans()
    {
        var userRun = result.Runs[3];
        userRun.UserInjection.ShouldBeTrue();
        var trace = await StoredTrace.GetAsync(server, userRun.TraceId);
        var guard = trace.Single("input-guard");
        StoredTrace.Kind(guard).ShouldBe("guardrail");
        guard["input"]!.GetValue<string>().ShouldContain("Ignore all previous instructions");
        guard["output"]!["action"]!.GetValue<string>().ShouldBe("sanitize");
        guard["attributes"]!["guard.flagged"]!.GetValue<bool>().ShouldBeTrue();

        var documentRun = result.Runs.First(r => r.DocumentInjection);
        var documentTrace = await StoredTrace.GetAsync(server, documentRun.TraceId);
        var documentGuard = documentTrace.Single("document-guard");
        documentGuard["output"]!["action"]!.GetValue<string>().ShouldBe("drop");
        documentGuard["output"]!["dropped"]!.AsArray().Select(d => d!.GetValue<string>()).ShouldBe(["kb-integrations"]);
        documentGuard["input"]!.ToJsonString().ShouldContain("[email]", customMessage: "the attacker's address is masked before it leaves the process");
        documentGuard["input"]!.ToJsonString().ShouldNotContain("exfil@attacker.example");
    }

    [Fact]
    public async Task then_backfilled_runs_are_spread_over_the_last_days_oldest_first()
    {
        var starts = new List<DateTimeOffset>();
        foreach (var run in result.Runs)
        {
            var trace = await StoredTrace.GetAsync(server, run.TraceId);
            var start = DateTimeOffset.Parse(trace.Root["startTime"]!.GetValue<string>(), CultureInfo.InvariantCulture);
            starts.Add(start);
            // Every span of the run moved by the same shift: children stay inside their root.
            trace.Spans.ShouldAllBe(s => DateTimeOffset.Parse(s["startTime"]!.GetValue<string>(), CultureInfo.InvariantCulture) >= start);
        }
        starts[0].ShouldBeLessThan(DateTimeOffset.UtcNow.AddDays(-1.9));
        starts[^1].ShouldBeGreaterThan(DateTimeOffset.UtcNow.AddHours(-3));
        starts.ShouldBe(starts.Order().ToList());
    }
}
