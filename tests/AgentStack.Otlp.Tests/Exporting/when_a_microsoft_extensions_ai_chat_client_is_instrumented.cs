using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using OpenTelemetry.Exporter;
using OpenTelemetry.Trace;

namespace AgentStack.Otlp.Tests.Exporting;

/// <summary>
/// Microsoft.Extensions.AI's own instrumentation (<c>UseOpenTelemetry()</c>, GenAI semantic conventions) and its
/// function-invocation loop, around a deterministic local chat client, exporting through the OTel SDK.
/// </summary>
public sealed class when_a_microsoft_extensions_ai_chat_client_is_instrumented(OtlpServer otlp) : IClassFixture<OtlpServer>
{
    private const string SourceName = "AgentStack.Otlp.Tests.Meai";
    private static readonly ActivitySource Root = new("AgentStack.Otlp.Tests.MeaiRoot");

    [Fact]
    public async Task then_chat_and_tool_spans_arrive_with_model_tokens_messages_and_tool_calls()
    {
        string traceId;
        using (var tracing = Telemetry.ExportTo(otlp, OtlpExportProtocol.HttpProtobuf, SourceName, Root.Name))
        {
            var weather = AIFunctionFactory.Create((string city) => $"rainy in {city}", "get_weather", "Gets the weather for a city");
            using var client = new ChatClientBuilder(new WeatherModel())
                .UseFunctionInvocation()
                .UseOpenTelemetry(sourceName: SourceName, configure: c => c.EnableSensitiveData = true)
                .Build();
            using (var run = Root.StartActivity("weather run")!)
            {
                traceId = run.TraceId.ToHexString();
                var response = await client.GetResponseAsync(
                    [new ChatMessage(ChatRole.System, "You answer weather questions."), new ChatMessage(ChatRole.User, "Weather in Paris?")],
                    new ChatOptions { Tools = [weather], ModelId = "gpt-4o-mini" },
                    TestContext.Current.CancellationToken);
                response.Text.ShouldBe("It is rainy in Paris.");
            }
            tracing.ForceFlush(10_000).ShouldBeTrue();
        }

        var spans = await otlp.SpansOfAsync(traceId);
        var chats = spans.Where(s => s!["kind"]!.GetValue<string>() == "llm").ToList();
        chats.Count.ShouldBe(2, spans.ToJsonString());
        foreach (var chat in chats)
        {
            chat!["model"]!.GetValue<string>().ShouldBe("gpt-4o-mini-2024-07-18");
            chat["provider"]!.GetValue<string>().ShouldBe("deterministic");
            chat["inputTokens"]!.GetValue<long>().ShouldBe(42);
            chat["outputTokens"]!.GetValue<long>().ShouldBe(7);
            chat["costUsd"]!.GetValue<decimal>().ShouldBe(42 * 0.00000015m + 7 * 0.0000006m);
            chat["input"]!.ToJsonString().ShouldContain("Weather in Paris?");
            chat["input"]!.ToJsonString().ShouldContain("You answer weather questions.");
        }
        var first = chats.Single(c => c!["output"]!.ToJsonString().Contains("tool_call", StringComparison.Ordinal))!;
        first["output"]!.ToJsonString().ShouldContain("get_weather");
        var second = chats.Single(c => c != first)!;
        second["output"]!.ToJsonString().ShouldContain("It is rainy in Paris.");
        second["input"]!.ToJsonString().ShouldContain("tool_call_response");

        var tool = spans.Single(s => s!["kind"]!.GetValue<string>() == "tool")!;
        tool["name"]!.GetValue<string>().ShouldBe("execute_tool get_weather");
        tool["input"]!["city"]!.GetValue<string>().ShouldBe("Paris");
        tool["output"]!.ToJsonString().ShouldContain("rainy in Paris");
        tool["attributes"]!["gen_ai.tool.call.id"]!.GetValue<string>().ShouldBe("call_1");
    }

    /// <summary>
    /// The app's model, deterministic: asks for the weather tool on the first turn, answers from its result on the
    /// second; reports its model, provider and usage as a real client does.
    /// </summary>
    private sealed class WeatherModel : IChatClient
    {
        private readonly ChatClientMetadata metadata = new("deterministic", new Uri("http://localhost/model"), "gpt-4o-mini");

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            var result = messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>().FirstOrDefault();
            var message = result is null
                ? new ChatMessage(ChatRole.Assistant, [new FunctionCallContent("call_1", "get_weather", new Dictionary<string, object?> { ["city"] = "Paris" })])
                : new ChatMessage(ChatRole.Assistant, $"It is {result.Result}.".Replace("\"", "", StringComparison.Ordinal));
            return Task.FromResult(new ChatResponse(message)
            {
                ModelId = "gpt-4o-mini-2024-07-18",
                ResponseId = Guid.NewGuid().ToString("N"),
                FinishReason = result is null ? ChatFinishReason.ToolCalls : ChatFinishReason.Stop,
                Usage = new UsageDetails { InputTokenCount = 42, OutputTokenCount = 7, TotalTokenCount = 49 },
            });
        }

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
            [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            foreach (var update in (await GetResponseAsync(messages, options, cancellationToken)).ToChatResponseUpdates())
                yield return update;
        }

        public object? GetService(Type serviceType, object? serviceKey = null) =>
            serviceType == typeof(ChatClientMetadata) ? metadata : serviceType.IsInstanceOfType(this) ? this : null;

        public void Dispose() { }
    }
}
