using System.Buffers;
using System.Globalization;
using System.Text.Json;
using AgentStack.Commands.Spans.Ingesting;
using AgentStack.Otlp.Mapping;
using AgentStack.Otlp.Pricing;
using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace AgentStack.Otlp.Benchmarks;

/// <summary>
/// The collector-side work per span before the <c>RecordSpans</c> command is sent, for the request the load harness
/// sends (load/otlp-protobuf.lua and load/spans.lua: 100 spans, 10 traces × 10 spans, GenAI messages of about
/// 330 bytes each way). OTLP: protobuf parse, then <see cref="OtlpSpanMapper.Map"/> (mapping, pricing and the
/// native validation). Native: the <c>POST /v1/spans</c> JSON body deserialised and validated the way
/// <c>CollectorEndpoints</c> does it. Every figure is per span (OperationsPerInvoke = 100).
/// </summary>
[MemoryDiagnoser]
public class ExportMapping
{
    private const int Spans = 100;
    private static readonly string[] Operations =
        ["invoke_agent", "chat", "execute_tool", "chat", "chat", "chat", "execute_tool", "chat", "chat", "chat"];
    private static readonly string[] NativeKinds = ["agent", "llm", "tool", "llm", "retrieval", "llm", "tool", "llm", "chain", "llm"];
    private static readonly string Filler = string.Concat(Enumerable.Repeat("The quick brown fox jumps over the lazy dog. ", 6));

    private readonly PriceTable prices = PriceTable.Shipped();
    private readonly IngestOptions limits = new();
    private byte[] otlpBody = [];
    private ExportTraceServiceRequest otlpRequest = new();
    private byte[] nativeBody = [];
    private IngestJsonContext nativeContext = IngestJsonContext.Default;
    private DateTimeOffset now;

    [GlobalSetup]
    public void Setup()
    {
        now = DateTimeOffset.UtcNow;
        otlpRequest = OtlpRequest(now);
        otlpBody = otlpRequest.ToByteArray();
        nativeBody = NativeBody(now);
        // The collector's own parse depth: the payload limit plus the batch's levels (CollectorEndpoints).
        nativeContext = new IngestJsonContext(new JsonSerializerOptions(IngestJsonContext.Default.Options) { MaxDepth = limits.MaxDepth + 4 });

        // A benchmark that maps nothing would measure nothing: both paths must accept every span.
        var mapped = OtlpSpanMapper.Map(ExportTraceServiceRequest.Parser.ParseFrom(otlpBody), "default", prices, limits, now);
        if (mapped.Errors.Count > 0 || mapped.Spans.Count != Spans || mapped.Spans.Any(s => s.CostUsd is null))
            throw new InvalidOperationException("the OTLP request did not map to 100 priced spans: " + string.Join("; ", mapped.Errors.Keys));
        var native = SpanValidator.Validate(JsonSerializer.Deserialize(nativeBody, nativeContext.SpanBatchRequest), limits, now);
        if (native.Errors.Count > 0 || native.Spans.Count != Spans)
            throw new InvalidOperationException("the native batch did not validate to 100 spans");
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Spans, Description = "native: JSON deserialize + validate")]
    public int Native()
    {
        var request = JsonSerializer.Deserialize(nativeBody, nativeContext.SpanBatchRequest);
        return SpanValidator.Validate(request, limits, now).Spans.Count;
    }

    [Benchmark(OperationsPerInvoke = Spans, Description = "OTLP: protobuf parse + map + validate")]
    public int Otlp() =>
        OtlpSpanMapper.Map(ExportTraceServiceRequest.Parser.ParseFrom(otlpBody), "default", prices, limits, now).Spans.Count;

    [Benchmark(OperationsPerInvoke = Spans, Description = "OTLP: map + validate (parsed request)")]
    public int OtlpMapOnly() => OtlpSpanMapper.Map(otlpRequest, "default", prices, limits, now).Spans.Count;

    /// <summary>The request load/otlp-protobuf.lua sends, built with the generated types instead of by hand.</summary>
    private static ExportTraceServiceRequest OtlpRequest(DateTimeOffset now)
    {
        var scope = new ScopeSpans { Scope = new InstrumentationScope { Name = "bench" } };
        var startSeconds = (ulong)(now.ToUnixTimeSeconds() - 120);
        for (var t = 1; t <= 10; t++)
        {
            var traceId = new byte[16];
            System.Security.Cryptography.RandomNumberGenerator.Fill(traceId.AsSpan(0, 12));
            traceId[15] = (byte)t;
            for (var s = 1; s <= 10; s++)
            {
                var span = new Span
                {
                    TraceId = ByteString.CopyFrom(traceId),
                    SpanId = ByteString.CopyFrom(Id(s)),
                    ParentSpanId = s == 1 ? ByteString.Empty : ByteString.CopyFrom(Id(1)),
                    Name = $"step {s}",
                    Kind = s == 1 ? Span.Types.SpanKind.Internal : Span.Types.SpanKind.Client,
                    StartTimeUnixNano = startSeconds * 1_000_000_000 + (ulong)s * 1_000_000,
                    EndTimeUnixNano = (startSeconds + 60) * 1_000_000_000 + (ulong)s * 1_000_000,
                    Status = new Status { Code = s == 7 && t % 5 == 0 ? Status.Types.StatusCode.Error : Status.Types.StatusCode.Ok },
                };
                span.Attributes.Add(Attr("gen_ai.operation.name", Operations[s - 1]));
                span.Attributes.Add(Attr("gen_ai.provider.name", "openai"));
                span.Attributes.Add(Attr("gen_ai.request.model", "gpt-4o-mini"));
                span.Attributes.Add(Attr("gen_ai.usage.input_tokens", 100 + s));
                span.Attributes.Add(Attr("gen_ai.usage.output_tokens", 20 + s));
                span.Attributes.Add(Attr("gen_ai.input.messages", $$"""[{"role":"user","parts":[{"type":"text","content":"{{Filler}} request"}]}]"""));
                span.Attributes.Add(Attr("gen_ai.output.messages", $$"""[{"role":"assistant","parts":[{"type":"text","content":"{{Filler}} answer"}]}]"""));
                span.Attributes.Add(Attr("agent.name", "bench"));
                span.Attributes.Add(Attr("step", s));
                scope.Spans.Add(span);
            }
        }
        var resource = new ResourceSpans { Resource = new Resource() };
        resource.Resource.Attributes.Add(Attr("service.name", "bench-agent"));
        resource.ScopeSpans.Add(scope);
        var request = new ExportTraceServiceRequest();
        request.ResourceSpans.Add(resource);
        return request;
    }

    /// <summary>The batch load/spans.lua sends to <c>POST /v1/spans</c>.</summary>
    private static byte[] NativeBody(DateTimeOffset now)
    {
        var start = now.AddSeconds(-120).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
        var end = now.AddSeconds(-60).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartArray("spans");
            for (var t = 1; t <= 10; t++)
            {
                var trace = $"{System.Security.Cryptography.RandomNumberGenerator.GetInt32(0, 0xffffff):x6}01{t:x24}";
                for (var s = 1; s <= 10; s++)
                {
                    w.WriteStartObject();
                    w.WriteString("traceId", trace);
                    w.WriteString("spanId", $"{t:x14}{s:x2}");
                    if (s > 1)
                        w.WriteString("parentSpanId", $"{t:x14}01");
                    w.WriteString("name", $"step {s}");
                    w.WriteString("kind", NativeKinds[s - 1]);
                    w.WriteString("startTime", $"{start}.{s * 1000:D6}Z");
                    w.WriteString("endTime", $"{end}.{s * 1000:D6}Z");
                    w.WriteString("status", s == 7 && t % 5 == 0 ? "error" : "ok");
                    w.WriteString("model", "gpt-4o-mini");
                    w.WriteString("provider", "openai");
                    w.WriteNumber("inputTokens", 100 + s);
                    w.WriteNumber("outputTokens", 20 + s);
                    w.WriteNumber("costUsd", 0.00042m);
                    w.WriteStartObject("input");
                    w.WriteStartArray("messages");
                    w.WriteStartObject();
                    w.WriteString("role", "user");
                    w.WriteString("content", Filler + " request 1");
                    w.WriteEndObject();
                    w.WriteEndArray();
                    w.WriteEndObject();
                    w.WriteStartObject("output");
                    w.WriteString("role", "assistant");
                    w.WriteString("content", Filler + " answer 1");
                    w.WriteEndObject();
                    w.WriteStartObject("attributes");
                    w.WriteString("agent.name", "bench");
                    w.WriteNumber("step", s);
                    w.WriteEndObject();
                    w.WriteEndObject();
                }
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] Id(int n)
    {
        var id = new byte[8];
        id[7] = (byte)n;
        return id;
    }

    private static KeyValue Attr(string key, string value) => new() { Key = key, Value = new AnyValue { StringValue = value } };

    private static KeyValue Attr(string key, long value) => new() { Key = key, Value = new AnyValue { IntValue = value } };
}
