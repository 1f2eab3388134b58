using System.Diagnostics;
using System.Runtime.CompilerServices;
using AgentStack.Examples.ResearchAgent;
using AgentStack.Testing;
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;

namespace AgentStack.Sdk.Tests;

/// <summary>Microsoft Agent Framework: an orchestrator agent hands work to a researcher agent exposed as its tool.</summary>
public sealed class when_an_agent_framework_agent_runs(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private readonly ServerProcess server = fixture.Server;

    [Fact]
    public async Task then_runs_tool_calls_and_the_hand_off_form_one_tree()
    {
        string traceId;
        await using (var client = new AgentStackClient(new AgentStackOptions { Endpoint = server.BaseAddress, ApiKey = ServerProcess.BootstrapKey }))
        {
            IChatClient Model() => new ChatClientBuilder(new LocalChatClient()).UseAgentStack().Build();
            var pricing = AIFunctionFactory.Create((string product) => $"{product} costs 49 USD", "get_pricing");
            var researcher = new ChatClientAgent(Model(), instructions: "[task:summarize] Research prices.", name: "researcher",
                description: "Finds prices", tools: [pricing]).WithAgentStack();
            var orchestrator = new ChatClientAgent(Model(), instructions: "[task:summarize] Delegate research.", name: "orchestrator",
                tools: [researcher.AsAIFunction()]).WithAgentStack();

            using (var span = AgentStackTracer.StartSpan(AgentStackSpanKind.Chain, "agent-test"))
            {
                traceId = span.Activity!.TraceId.ToHexString();
                var response = await orchestrator.RunAsync("Product: Fabrikam\n- Fabrikam sells seats.\n");
                response.Text.ShouldContain("Summary for Fabrikam");
            }
            await client.FlushAsync(TestContext.Current.CancellationToken);
            client.Statistics.Failed.ShouldBe(0);
        }

        var trace = await StoredTrace.GetAsync(server, traceId);
        var agents = trace.OfKind("agent");
        agents.Select(StoredTrace.Name).ShouldBe(["invoke_agent orchestrator", "invoke_agent researcher"], ignoreOrder: true);
        var orchestratorSpan = agents.Single(a => StoredTrace.Name(a) == "invoke_agent orchestrator");
        var researcherSpan = agents.Single(a => StoredTrace.Name(a) == "invoke_agent researcher");
        trace.Parent(orchestratorSpan).ShouldBe(trace.Root);
        orchestratorSpan["input"]!.ToJsonString().ShouldContain("Product: Fabrikam");
        orchestratorSpan["output"]!.ToJsonString().ShouldContain("Summary for Fabrikam");

        // The hand-off: the researcher runs inside the orchestrator's tool call.
        trace.IsUnder(researcherSpan, orchestratorSpan).ShouldBeTrue();
        var handOff = trace.Parent(researcherSpan)!;
        StoredTrace.Kind(handOff).ShouldBe("tool");
        researcherSpan["attributes"]!["agentstack.handoff.from"]!.GetValue<string>().ShouldBe("orchestrator");
        researcherSpan["attributes"]!["agentstack.handoff.to"]!.GetValue<string>().ShouldBe("researcher");

        var pricingTool = trace.OfKind("tool").Single(t => trace.IsUnder(t, researcherSpan));
        StoredTrace.Name(pricingTool).ShouldBe("execute_tool get_pricing");
        pricingTool["input"]!["product"]!.GetValue<string>().ShouldNotBeNullOrEmpty();
        pricingTool["output"]!.GetValue<string>().ShouldEndWith("costs 49 USD");

        // Model calls of each agent sit under that agent and carry the tokens; agent spans do not.
        trace.OfKind("llm").Count(l => trace.IsUnder(l, researcherSpan)).ShouldBe(2);
        trace.OfKind("llm").Count(l => trace.IsUnder(l, orchestratorSpan) && !trace.IsUnder(l, researcherSpan)).ShouldBe(2);
        trace.OfKind("llm").ShouldAllBe(l => l["inputTokens"]!.GetValue<long>() > 0);
        agents.ShouldAllBe(a => a["inputTokens"] == null);
    }

    [Fact]
    public async Task then_work_done_after_the_first_streamed_update_stays_under_the_agent_span()
    {
        string traceId;
        await using (var client = new AgentStackClient(new AgentStackOptions { Endpoint = server.BaseAddress, ApiKey = ServerProcess.BootstrapKey }))
        {
            // A middleware inside the traced agent that checks the answer once it has streamed out.
            static async IAsyncEnumerable<AgentResponseUpdate> CheckAfterwards(IEnumerable<ChatMessage> messages, AgentSession? session,
                AgentRunOptions? options, AIAgent inner, [EnumeratorCancellation] CancellationToken ct)
            {
                await foreach (var update in inner.RunStreamingAsync(messages, session, options, ct))
                    yield return update;
                using var check = AgentStackTracer.StartSpan(AgentStackSpanKind.Guardrail, "check-answer");
            }
            var writer = new ChatClientAgent(new ChatClientBuilder(new LocalChatClient()).UseAgentStack().Build(),
                instructions: "[task:email]", name: "writer").AsBuilder().UseAgentStack().Use(null, CheckAfterwards).Build();

            using (var span = AgentStackTracer.StartSpan(AgentStackSpanKind.Chain, "stream-agent-test"))
            {
                traceId = span.Activity!.TraceId.ToHexString();
                var text = "";
                await foreach (var update in writer.RunStreamingAsync("Recipient: Bob\nSummary: all good\n", cancellationToken: TestContext.Current.CancellationToken))
                    text += update.Text;
                text.ShouldContain("Hello Bob");
                Activity.Current.ShouldBe(span.Activity, "the run's span stays the iterator's own");
            }
            await client.FlushAsync(TestContext.Current.CancellationToken);
            client.Statistics.Failed.ShouldBe(0);
        }

        var trace = await StoredTrace.GetAsync(server, traceId);
        var agent = trace.OfKind("agent").ShouldHaveSingleItem();
        trace.Parent(agent).ShouldBe(trace.Root);
        StoredTrace.Name(trace.Parent(trace.Single("check-answer"))!).ShouldBe("invoke_agent writer");
    }
}
