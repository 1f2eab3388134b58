using System.Diagnostics;
using System.Text;
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

    [Fact]
    public async Task then_a_streamed_function_span_lasts_until_its_stream_is_read()
    {
        string traceId;
        string streamed;
        await using (var client = new AgentStackClient(new AgentStackOptions { Endpoint = server.BaseAddress, ApiKey = ServerProcess.BootstrapKey }))
        {
            var builder = Kernel.CreateBuilder();
            builder.Services.AddChatClient(new ChatClientBuilder(new LocalChatClient()).UseAgentStack().Build());
            builder.AddAgentStack();
            var kernel = builder.Build();
            var write = kernel.CreateFunctionFromPrompt("[task:email] Write to {{$recipient}}.\nRecipient: Bob\nSummary: all good\n", functionName: "WriteEmail");
            var feed = KernelFunctionFactory.CreateFromMethod(ReadFeed, "read_feed");

            using (var span = AgentStackTracer.StartSpan(AgentStackSpanKind.Agent, "kernel-stream"))
            {
                traceId = span.Activity!.TraceId.ToHexString();
                var text = new StringBuilder();
                await foreach (var chunk in kernel.InvokeStreamingAsync<StreamingChatMessageContent>(write, new KernelArguments { ["recipient"] = "Bob" },
                    TestContext.Current.CancellationToken))
                {
                    text.Append(chunk.Content);
                }
                streamed = text.ToString();
                streamed.ShouldContain("Hello Bob");
                Activity.Current.ShouldBe(span.Activity, "the stream's span does not leak into the caller");

                // A caller that stops reading early still ends the span.
                var draft = kernel.CreateFunctionFromPrompt("[task:email]\nRecipient: Ann\nSummary: all good\n", functionName: "WriteDraft");
                await foreach (var _ in kernel.InvokeStreamingAsync<string>(draft, cancellationToken: TestContext.Current.CancellationToken))
                    break;
                Activity.Current.ShouldBe(span.Activity);

                await Should.ThrowAsync<InvalidOperationException>(async () =>
                {
                    await foreach (var _ in kernel.InvokeStreamingAsync<string>(feed, cancellationToken: TestContext.Current.CancellationToken))
                    {
                    }
                });
                Activity.Current.ShouldBe(span.Activity);
            }
            await client.FlushAsync(TestContext.Current.CancellationToken);
            client.Statistics.Failed.ShouldBe(0);
        }

        var trace = await StoredTrace.GetAsync(server, traceId);
        var function = trace.Single("WriteEmail");
        trace.Parent(function).ShouldBe(trace.Root);
        function["attributes"]!["sk.streaming"]!.GetValue<bool>().ShouldBeTrue();
        (function["output"]?.GetValue<string>()).ShouldBe(streamed, "the output is what was streamed, as a non-streamed call records its result");
        // The prompt is rendered and the model called while the caller reads the stream: both belong to the function.
        trace.Parent(trace.Single("render WriteEmail")).ShouldBe(function);
        trace.OfKind("llm").Count(l => trace.IsUnder(l, function)).ShouldBe(1, "the streamed model call (and its tokens) is under the function's span");

        var drafted = trace.Single("WriteDraft");
        trace.Parent(drafted).ShouldBe(trace.Root);
        trace.OfKind("llm").Count(l => trace.IsUnder(l, drafted)).ShouldBe(1);

        var failed = trace.Single("read_feed");
        StoredTrace.Status(failed).ShouldBe("error", "the exception thrown mid-stream is recorded on the function's span");
    }

    private static async IAsyncEnumerable<string> ReadFeed()
    {
        yield return "first entry";
        await Task.Yield();
        throw new InvalidOperationException("the feed broke");
    }
}
