using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using System.Text;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using Microsoft.SemanticKernel.Connectors.OpenAI;
using OpenTelemetry.Exporter;
using OpenTelemetry.Trace;

namespace AgentStack.Otlp.Tests.Exporting;

/// <summary>
/// Semantic Kernel with its GenAI diagnostics switched on (the documented AppContext switches), using its OpenAI
/// connector with automatic function calling. The model behind the connector is a deterministic local responder
/// speaking the OpenAI chat-completions wire format; everything else is Semantic Kernel's own code. Exported over gRPC.
/// </summary>
public sealed class when_semantic_kernel_runs_with_telemetry_on(OtlpServer otlp) : IClassFixture<OtlpServer>
{
    private static readonly ActivitySource Root = new("AgentStack.Otlp.Tests.SkRoot");

    [Fact]
    public async Task then_its_chat_and_function_spans_arrive_mapped()
    {
        AppContext.SetSwitch("Microsoft.SemanticKernel.Experimental.GenAI.EnableOTelDiagnostics", true);
        AppContext.SetSwitch("Microsoft.SemanticKernel.Experimental.GenAI.EnableOTelDiagnosticsSensitive", true);
        string traceId;
        using (var tracing = Telemetry.ExportTo(otlp, OtlpExportProtocol.Grpc, "Microsoft.SemanticKernel*", Root.Name))
        {
            using var http = new HttpClient(new OpenAiResponder());
            var builder = Kernel.CreateBuilder();
            builder.AddOpenAIChatCompletion("gpt-4o-mini", "sk-test", httpClient: http);
            builder.Plugins.AddFromType<WeatherPlugin>("Weather");
            var kernel = builder.Build();
            var chat = kernel.GetRequiredService<IChatCompletionService>();
            var history = new ChatHistory("You answer weather questions.");
            history.AddUserMessage("Weather in Paris?");
            using (var run = Root.StartActivity("sk run")!)
            {
                traceId = run.TraceId.ToHexString();
                var answer = await chat.GetChatMessageContentAsync(history,
                    new OpenAIPromptExecutionSettings { FunctionChoiceBehavior = FunctionChoiceBehavior.Auto() }, kernel,
                    TestContext.Current.CancellationToken);
                answer.Content.ShouldBe("It is rainy in Paris.");
            }
            tracing.ForceFlush(10_000).ShouldBeTrue();
        }

        var spans = await otlp.SpansOfAsync(traceId);
        var chats = spans.Where(s => s!["kind"]!.GetValue<string>() == "llm").ToList();
        chats.Count.ShouldBe(2, spans.ToJsonString());
        foreach (var span in chats)
        {
            // Semantic Kernel records the requested model only (gen_ai.request.model).
            span!["model"]!.GetValue<string>().ShouldBe("gpt-4o-mini", spans.ToJsonString());
            span["provider"]!.GetValue<string>().ShouldBe("openai");
            span["inputTokens"]!.GetValue<long>().ShouldBe(50);
            span["outputTokens"]!.GetValue<long>().ShouldBe(10);
            span["costUsd"]!.GetValue<decimal>().ShouldBe(50 * 0.00000015m + 10 * 0.0000006m);
            span["input"]!.ToJsonString().ShouldContain("Weather in Paris?");
        }
        chats.ShouldContain(c => c!["output"]!.ToJsonString().Contains("\"tool_call\"", StringComparison.Ordinal) && c["output"]!.ToJsonString().Contains("GetWeather", StringComparison.Ordinal), spans.ToJsonString());
        chats.ShouldContain(c => c!["output"]!.ToJsonString().Contains("It is rainy in Paris.", StringComparison.Ordinal), spans.ToJsonString());
        var tool = spans.Single(s => s!["kind"]!.GetValue<string>() == "tool")!;
        tool["name"]!.GetValue<string>().ShouldContain("GetWeather");
        tool["input"]!.ToJsonString().ShouldContain("Paris");
        tool["output"]!.ToJsonString().ShouldContain("rainy in Paris");
    }

    public sealed class WeatherPlugin
    {
        [KernelFunction, Description("Gets the weather for a city")]
        public static string GetWeather(string city) => $"rainy in {city}";
    }

    /// <summary>The model: asks for the weather function first, answers from its result second, with usage.</summary>
    private sealed class OpenAiResponder : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = await request.Content!.ReadAsStringAsync(cancellationToken);
            var answered = body.Contains("\"role\":\"tool\"", StringComparison.Ordinal);
            var message = answered
                ? """{"role":"assistant","content":"It is rainy in Paris."}"""
                : """{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"Weather-GetWeather","arguments":"{\"city\":\"Paris\"}"}}]}""";
            var json = $$$"""
                {"id":"chatcmpl-{{{(answered ? 2 : 1)}}}","object":"chat.completion","created":1750000000,"model":"gpt-4o-mini-2024-07-18",
                 "choices":[{"index":0,"message":{{{message}}},"finish_reason":"{{{(answered ? "stop" : "tool_calls")}}}"}],
                 "usage":{"prompt_tokens":50,"completion_tokens":10,"total_tokens":60}}
                """;
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        }
    }
}
