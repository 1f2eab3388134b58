using System.Text.Json.Nodes;
using AgentStack.Sdk.Replaying;
using Microsoft.Extensions.AI;

namespace AgentStack.Sdk.Tests;

/// <summary>
/// <see cref="AgentStackReplay"/> without a server (issue 16): a recorded trace document in, the calls a developer's
/// agent makes against it. The "live" model is the developer's own, here one that answers a fixed text.
/// </summary>
public sealed class when_a_replay_meets_the_agent
{
    private static readonly JsonNode Trace = JsonNode.Parse("""
        {"traceId":"0123456789abcdef0123456789abcdef","spans":[
          {"spanId":"00000000000000a1","parentSpanId":null,"name":"agent","kind":"agent","startTime":"2026-03-10T00:00:00.000000Z","attributes":{"run.index":3}},
          {"spanId":"00000000000000b2","parentSpanId":"00000000000000a1","name":"chat m","kind":"llm","startTime":"2026-03-10T00:00:01.000000Z","status":"ok","model":"m","inputTokens":5,"outputTokens":2,
           "output":[{"role":"assistant","parts":[{"type":"tool_call","id":"c1","name":"get_pricing","arguments":{"product":"AgentStack"}}],"finish_reason":"tool_call"}]},
          {"spanId":"00000000000000c3","parentSpanId":"00000000000000a1","name":"execute_tool get_pricing","kind":"tool","startTime":"2026-03-10T00:00:02.000000Z","status":"ok",
           "attributes":{"gen_ai.tool.name":"get_pricing"},"input":{"product":"AgentStack"},"output":"49 USD"},
          {"spanId":"00000000000000d4","parentSpanId":"00000000000000a1","name":"chat m","kind":"llm","startTime":"2026-03-10T00:00:03.000000Z","status":"ok","output":"recorded answer"}
        ]}
        """)!;

    private sealed class LiveModel : IChatClient
    {
        public int Calls { get; private set; }

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            Calls++;
            return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, "live answer")));
        }

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
            CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }

    private static (IChatClient Chat, LiveModel Live, AgentStackReplay Replay) Agent(int replaySteps)
    {
        var replay = new AgentStackReplay(RecordedRun.FromTrace(Trace), replaySteps);
        var live = new LiveModel();
        var chat = new ChatClientBuilder(live)
            .UseFunctionInvocation(configure: f => f.FunctionInvoker = replay.InvokeToolAsync)
            .UseAgentStackReplay(replay)
            .Build();
        return (chat, live, replay);
    }

    [Fact]
    public void then_the_steps_are_the_model_and_tool_calls_in_start_order()
    {
        var run = RecordedRun.FromTrace(Trace);
        run.Steps.Select(s => (s.Number, s.Kind, s.ToolName)).ShouldBe([(1, "llm", null), (2, "tool", "get_pricing"), (3, "llm", null)]);
        run.RootSpanId.ShouldBe("00000000000000a1");
        run.RootAttributes!["run.index"]!.GetValue<int>().ShouldBe(3);
    }

    [Fact]
    public async Task then_the_recorded_prefix_answers_and_the_live_model_takes_over_after_it()
    {
        var calls = 0;
        var (chat, live, replay) = Agent(2);
        var tool = AIFunctionFactory.Create((string product) => { calls++; return $"{product}: 99 USD"; }, "get_pricing");
        var response = await chat.GetResponseAsync([new ChatMessage(ChatRole.User, "price?")], new ChatOptions { Tools = [tool] },
            TestContext.Current.CancellationToken);

        calls.ShouldBe(0, "the tool call was step 2, answered as recorded");
        replay.StepsReplayed.ShouldBe(2);
        live.Calls.ShouldBe(1, "step 3 went to the live model");
        response.Text.ShouldBe("live answer");
        response.Messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>().Single().Result!.ToString().ShouldBe("49 USD");
        replay.MismatchAtStep.ShouldBeNull();
    }

    [Fact]
    public async Task then_a_call_that_differs_from_the_recording_goes_live_at_once()
    {
        var (chat, live, replay) = Agent(3);
        var other = AIFunctionFactory.Create((string product) => "fresh", "get_stock");
        // Step 1 (recorded) asks for get_pricing, which this agent does not offer: the function-invoking client answers
        // "not found" itself and calls the model again, where the recording has a tool call (step 2): live from there.
        var response = await chat.GetResponseAsync([new ChatMessage(ChatRole.User, "price?")], new ChatOptions { Tools = [other] },
            TestContext.Current.CancellationToken);
        response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>().Single().Name.ShouldBe("get_pricing");
        replay.MismatchAtStep.ShouldBe(2);
        replay.StepsReplayed.ShouldBe(1);
        live.Calls.ShouldBe(1);
        response.Text.ShouldBe("live answer");

        // Once live, tools run for real.
        var direct = await replay.InvokeToolAsync(new FunctionInvocationContext { Function = other, Arguments = new AIFunctionArguments { ["product"] = "x" } },
            TestContext.Current.CancellationToken);
        direct!.ToString().ShouldBe("fresh");
    }

    [Fact]
    public async Task then_a_recorded_model_failure_fails_again_streamed_or_not()
    {
        // The run failed at its second model call (a rate limit): its re-run fails there too instead of answering "".
        var failed = JsonNode.Parse(Trace.ToJsonString())!;
        var last = failed["spans"]![3]!;
        last["status"] = "error";
        last["statusMessage"] = "rate limited";
        last.AsObject().Remove("output");
        var tool = AIFunctionFactory.Create((string product) => "live", "get_pricing");
        foreach (var streamed in new[] { false, true })
        {
            var replay = new AgentStackReplay(RecordedRun.FromTrace(failed), 3);
            var live = new LiveModel();
            var chat = new ChatClientBuilder(live)
                .UseFunctionInvocation(configure: f => f.FunctionInvoker = replay.InvokeToolAsync)
                .UseAgentStackReplay(replay)
                .Build();
            List<ChatMessage> messages = [new ChatMessage(ChatRole.User, "price?")];
            var options = new ChatOptions { Tools = [tool] };
            var error = await Should.ThrowAsync<ReplayedModelException>(async () =>
            {
                if (!streamed)
                {
                    await chat.GetResponseAsync(messages, options, TestContext.Current.CancellationToken);
                    return;
                }
                await foreach (var _ in chat.GetStreamingResponseAsync(messages, options, TestContext.Current.CancellationToken))
                {
                }
            });
            error.Message.ShouldBe("rate limited");
            replay.StepsReplayed.ShouldBe(3);
            live.Calls.ShouldBe(0);
        }
    }
}
