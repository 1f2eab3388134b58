using AgentStack.Examples.ResearchAgent;
using AgentStack.Testing;
using Microsoft.Extensions.AI;

namespace AgentStack.Sdk.Tests;

/// <summary>Microsoft.Extensions.AI: <c>UseAgentStack()</c> on a chat pipeline with function invocation, plain and streaming.</summary>
public sealed class when_a_chat_client_is_instrumented(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private readonly ServerProcess server = fixture.Server;

    [Fact]
    public async Task then_each_model_call_is_an_llm_span_and_each_function_call_a_tool_span_under_the_callers_span()
    {
        string traceId;
        await using (var client = new AgentStackClient(new AgentStackOptions { Endpoint = server.BaseAddress, ApiKey = ServerProcess.BootstrapKey }))
        {
            using var chat = new ChatClientBuilder(new LocalChatClient()).UseFunctionInvocation().UseAgentStack().Build();
            var lookup = AIFunctionFactory.Create((string product) => $"{product}: 12 seats", "lookup_seats");
            using (var span = AgentStackTracer.StartSpan(AgentStackSpanKind.Agent, "seat-agent"))
            {
                traceId = span.Activity!.TraceId.ToHexString();
                var response = await chat.GetResponseAsync(
                    [new(ChatRole.System, "[task:summarize] Be brief."), new(ChatRole.User, "Product: Contoso\n- Contoso has seats.\n")],
                    new ChatOptions { Tools = [lookup] });
                response.Text.ShouldContain("Summary for Contoso");
            }
            await client.FlushAsync(TestContext.Current.CancellationToken);
            client.Statistics.Failed.ShouldBe(0);
        }

        var trace = await StoredTrace.GetAsync(server, traceId);
        var root = trace.Root;
        StoredTrace.Name(root).ShouldBe("seat-agent");
        var llms = trace.OfKind("llm");
        llms.Count.ShouldBe(2);
        llms.ShouldAllBe(l => trace.IsUnder(l, root));
        llms[0]["input"]!.AsArray()[1]!["parts"]![0]!["content"]!.GetValue<string>().ShouldStartWith("Product: Contoso");
        llms[1]["input"]!.ToJsonString().ShouldContain("tool_call_response", customMessage: "the second call carries the tool's result");
        llms[1]["output"]!.ToJsonString().ShouldContain("Summary for Contoso");

        var tool = trace.OfKind("tool").ShouldHaveSingleItem();
        StoredTrace.Name(tool).ShouldBe("execute_tool lookup_seats");
        tool["input"]!["product"]!.GetValue<string>().ShouldBe("Contoso");
        tool["output"]!.GetValue<string>().ShouldBe("Contoso: 12 seats");
        trace.Parent(tool).ShouldBe(trace.Parent(llms[0]), "tool and model calls are siblings under the function-invocation loop");
    }

    [Fact]
    public async Task then_a_streamed_answer_is_one_llm_span_with_the_whole_text_and_its_usage()
    {
        string traceId;
        string text = "";
        await using (var client = new AgentStackClient(new AgentStackOptions { Endpoint = server.BaseAddress, ApiKey = ServerProcess.BootstrapKey }))
        {
            using var chat = new ChatClientBuilder(new LocalChatClient()).UseAgentStack().Build();
            using (var span = AgentStackTracer.StartSpan(AgentStackSpanKind.Chain, "stream-email"))
            {
                traceId = span.Activity!.TraceId.ToHexString();
                await foreach (var update in chat.GetStreamingResponseAsync(
                    [new(ChatRole.System, "[task:email]"), new(ChatRole.User, "Recipient: Bob\nSummary: all good\n")]))
                    text += update.Text;
            }
            await client.FlushAsync(TestContext.Current.CancellationToken);
        }

        var trace = await StoredTrace.GetAsync(server, traceId);
        var llm = trace.OfKind("llm").ShouldHaveSingleItem();
        trace.Parent(llm).ShouldBe(trace.Root);
        llm["output"]!.AsArray()[0]!["parts"]![0]!["content"]!.GetValue<string>().ShouldBe(text);
        llm["inputTokens"]!.GetValue<long>().ShouldBeGreaterThan(0);
        llm["outputTokens"]!.GetValue<long>().ShouldBe((text.Length + 3) / 4);
        llm["model"]!.GetValue<string>().ShouldBe(LocalChatClient.ModelId);
    }
}
