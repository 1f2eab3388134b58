using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using AgentStack.Testing;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace AgentStack.Otlp.Tests.Exporting;

/// <summary>The real OpenTelemetry .NET SDK and its OTLP exporter, over OTLP/HTTP protobuf and OTLP/gRPC.</summary>
public sealed class when_the_opentelemetry_sdk_exports(OtlpServer otlp) : IClassFixture<OtlpServer>
{
    private static readonly ActivitySource Source = new("AgentStack.Otlp.Tests.Sdk");

    [Fact]
    public async Task then_spans_sent_over_http_protobuf_arrive_mapped() =>
        await ExportAndCheckAsync(OtlpExportProtocol.HttpProtobuf, otlp.HttpTracesEndpoint);

    [Fact]
    public async Task then_spans_sent_over_grpc_arrive_mapped() =>
        await ExportAndCheckAsync(OtlpExportProtocol.Grpc, otlp.GrpcEndpoint);

    [Fact]
    public async Task then_the_native_endpoint_still_listens_beside_the_grpc_port()
    {
        using var ready = await otlp.Server.Client.GetAsync(new Uri("/health/ready", UriKind.Relative));
        ready.StatusCode.ShouldBe(HttpStatusCode.OK);
        var traceId = Spans.NewId();
        using var native = await otlp.Server.Client.PostSpansAsync(Spans.Batch(Spans.Span(traceId, "aaaa000000000001",
            end: DateTimeOffset.UtcNow)));
        native.StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    private async Task ExportAndCheckAsync(OtlpExportProtocol protocol, Uri endpoint)
    {
        string traceId;
        using (var tracing = Sdk.CreateTracerProviderBuilder()
            .AddSource(Source.Name)
            .ConfigureResource(r => r.AddService("otlp-sdk-test"))
            .AddOtlpExporter(o =>
            {
                o.Protocol = protocol;
                o.Endpoint = endpoint;
                o.Headers = $"x-api-key={ServerProcess.BootstrapKey}";
                o.ExportProcessorType = ExportProcessorType.Simple;
            })
            .Build())
        {
            using (var root = Source.StartActivity("invoke_agent Planner", ActivityKind.Internal)!)
            {
                root.SetTag("gen_ai.operation.name", "invoke_agent");
                root.SetTag("gen_ai.agent.name", "Planner");
                traceId = root.TraceId.ToHexString();
                using (var chat = Source.StartActivity("chat gpt-4o-mini", ActivityKind.Client)!)
                {
                    chat.SetTag("gen_ai.operation.name", "chat");
                    chat.SetTag("gen_ai.provider.name", "openai");
                    chat.SetTag("gen_ai.request.model", "gpt-4o-mini");
                    chat.SetTag("gen_ai.usage.input_tokens", 1000);
                    chat.SetTag("gen_ai.usage.output_tokens", 100);
                    chat.SetTag("gen_ai.input.messages", """[{"role":"user","parts":[{"type":"text","content":"Plan my trip"}]}]""");
                    chat.SetTag("gen_ai.output.messages", """[{"role":"assistant","parts":[{"type":"text","content":"Day 1: Paris"}],"finish_reason":"stop"}]""");
                }
                using (var tool = Source.StartActivity("execute_tool book_hotel")!)
                {
                    tool.SetTag("gen_ai.operation.name", "execute_tool");
                    tool.SetTag("gen_ai.tool.name", "book_hotel");
                    tool.SetTag("gen_ai.tool.call.arguments", """{"city":"Paris"}""");
                    tool.SetTag("gen_ai.tool.call.result", "booked");
                    tool.AddException(new InvalidOperationException("hotel full"));
                    tool.SetStatus(ActivityStatusCode.Error, "hotel full");
                }
            }
            tracing.ForceFlush(10_000).ShouldBeTrue();
        }

        var spans = await otlp.SpansOfAsync(traceId);
        spans.Count.ShouldBe(3, spans.ToJsonString());
        var chatSpan = Single(spans, "chat gpt-4o-mini");
        chatSpan["kind"]!.GetValue<string>().ShouldBe("llm");
        chatSpan["model"]!.GetValue<string>().ShouldBe("gpt-4o-mini");
        chatSpan["provider"]!.GetValue<string>().ShouldBe("openai");
        chatSpan["inputTokens"]!.GetValue<long>().ShouldBe(1000);
        chatSpan["outputTokens"]!.GetValue<long>().ShouldBe(100);
        chatSpan["costUsd"]!.GetValue<decimal>().ShouldBe(1000 * 0.00000015m + 100 * 0.0000006m);
        chatSpan["input"]!.ToJsonString().ShouldContain("Plan my trip");
        chatSpan["output"]!.ToJsonString().ShouldContain("Day 1: Paris");
        chatSpan["attributes"]!["agentstack.price_table"]!.GetValue<string>().ShouldNotBeNullOrEmpty();
        chatSpan["attributes"]!["otel.resource"]!["service.name"]!.GetValue<string>().ShouldBe("otlp-sdk-test");
        var toolSpan = Single(spans, "execute_tool book_hotel");
        toolSpan["kind"]!.GetValue<string>().ShouldBe("tool");
        toolSpan["status"]!.GetValue<string>().ShouldBe("error");
        toolSpan["statusMessage"]!.GetValue<string>().ShouldBe("hotel full");
        toolSpan["input"]!["city"]!.GetValue<string>().ShouldBe("Paris");
        toolSpan["attributes"]!["otel.events"]![0]!["name"]!.GetValue<string>().ShouldBe("exception");
        Single(spans, "invoke_agent Planner")["kind"]!.GetValue<string>().ShouldBe("agent");
        Single(spans, "invoke_agent Planner")["parentSpanId"].ShouldBeNull();
        chatSpan["parentSpanId"]!.GetValue<string>().ShouldBe(Single(spans, "invoke_agent Planner")["spanId"]!.GetValue<string>());
    }

    internal static JsonNode Single(JsonArray spans, string name) =>
        spans.Single(s => s!["name"]!.GetValue<string>() == name)!;
}
