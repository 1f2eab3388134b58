using AgentStack.Examples.ResearchAgent;
using AgentStack.Testing;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.SemanticKernel;

namespace AgentStack.Sdk.Tests;

/// <summary>Semantic Kernel: the three filters registered with <c>AddAgentStack()</c>.</summary>
public sealed class when_semantic_kernel_is_instrumented(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private readonly ServerProcess server = fixture.Server;

    [Fact]
    public async Task then_functions_prompts_and_auto_invoked_tools_are_spans_around_the_model_calls()
    {
        string traceId;
        await using (var client = new AgentStackClient(new AgentStackOptions { Endpoint = server.BaseAddress, ApiKey = ServerProcess.BootstrapKey }))
        {
            var builder = Kernel.CreateBuilder();
            // Semantic Kernel runs auto function invocation (and its filters) in its own function-invoking chat client.
            builder.Services.AddChatClient(new ChatClientBuilder(new LocalChatClient()).UseKernelFunctionInvocation().UseAgentStack().Build());
            builder.Plugins.AddFromFunctions("Pricing", [KernelFunctionFactory.CreateFromMethod((string product) => $"{product} costs 49 USD", "get_pricing")]);
            builder.AddAgentStack();
            var kernel = builder.Build();

            var summarize = kernel.CreateFunctionFromPrompt(
                "[task:summarize] Summarise for {{$customer}}.\nProduct: Northwind\n- Northwind ships fast.\n",
                new PromptExecutionSettings { FunctionChoiceBehavior = FunctionChoiceBehavior.Auto() },
                functionName: "Summarize");
            using (var span = AgentStackTracer.StartSpan(AgentStackSpanKind.Agent, "kernel-agent"))
            {
                traceId = span.Activity!.TraceId.ToHexString();
                var result = await kernel.InvokeAsync(summarize, new KernelArguments { ["customer"] = "Dana" });
                result.ToString().ShouldContain("Summary for Northwind");
            }
            await client.FlushAsync(TestContext.Current.CancellationToken);
            client.Statistics.Failed.ShouldBe(0);
        }

        var trace = await StoredTrace.GetAsync(server, traceId);
        var function = trace.Single("Summarize");
        StoredTrace.Kind(function).ShouldBe("chain");
        trace.Parent(function).ShouldBe(trace.Root);
        function["input"]!["customer"]!.GetValue<string>().ShouldBe("Dana");
        function["output"]!.GetValue<string>().ShouldContain("Summary for Northwind");

        var render = trace.Single("render Summarize");
        trace.Parent(render).ShouldBe(function);
        render["output"]!.GetValue<string>().ShouldStartWith("[task:summarize] Summarise for Dana.");

        var tool = trace.OfKind("tool").ShouldHaveSingleItem();
        StoredTrace.Name(tool).ShouldBe("execute_tool Pricing_get_pricing");
        tool["attributes"]!["sk.function"]!.GetValue<string>().ShouldBe("Pricing.get_pricing");
        tool["attributes"]!["sk.request_sequence_index"]!.GetValue<int>().ShouldBe(0);
        trace.IsUnder(tool, function).ShouldBeTrue();
        tool["input"]!["product"]!.GetValue<string>().ShouldBe("Northwind");
        tool["output"]!.GetValue<string>().ShouldBe("Northwind costs 49 USD");
        trace.ChildrenOf(tool).ShouldBeEmpty("the auto function invocation enriches the tool span instead of nesting a twin or a chain span");

        var llms = trace.OfKind("llm");
        llms.Count.ShouldBe(2);
        llms.ShouldAllBe(l => trace.IsUnder(l, function) && l["outputTokens"]!.GetValue<long>() > 0);
    }
}
