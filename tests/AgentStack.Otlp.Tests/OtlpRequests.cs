using System.Net.Http.Headers;
using System.Security.Cryptography;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace AgentStack.Otlp.Tests;

/// <summary>Hand-built OTLP requests, so bad-input tests control every byte the server receives.</summary>
internal static class OtlpRequests
{
    public static byte[] NewTraceId() => RandomNumberGenerator.GetBytes(16);
    public static byte[] NewSpanId() => RandomNumberGenerator.GetBytes(8);

    public static ulong Nanos(DateTimeOffset t) => (ulong)(t - DateTimeOffset.UnixEpoch).Ticks * 100;

    public static Span ChatSpan(byte[] traceId, byte[]? spanId = null, string name = "chat gpt-4o", DateTimeOffset? start = null,
        string content = "hello")
    {
        var s = start ?? DateTimeOffset.UtcNow.AddSeconds(-5);
        var span = new Span
        {
            TraceId = ByteString.CopyFrom(traceId),
            SpanId = ByteString.CopyFrom(spanId ?? NewSpanId()),
            Name = name,
            Kind = Span.Types.SpanKind.Client,
            StartTimeUnixNano = Nanos(s),
            EndTimeUnixNano = Nanos(s.AddSeconds(1)),
        };
        span.Attributes.Add(Attr("gen_ai.operation.name", "chat"));
        span.Attributes.Add(Attr("gen_ai.request.model", "gpt-4o"));
        span.Attributes.Add(Attr("gen_ai.input.messages", $$"""[{"role":"user","parts":[{"type":"text","content":"{{content}}"}]}]"""));
        return span;
    }

    public static KeyValue Attr(string key, string value) => new() { Key = key, Value = new AnyValue { StringValue = value } };

    public static ExportTraceServiceRequest Request(params Span[] spans)
    {
        var scope = new ScopeSpans { Scope = new InstrumentationScope { Name = "tests" } };
        scope.Spans.AddRange(spans);
        var resource = new ResourceSpans { Resource = new OpenTelemetry.Proto.Resource.V1.Resource() };
        resource.Resource.Attributes.Add(Attr("service.name", "bad-input-test"));
        resource.ScopeSpans.Add(scope);
        var request = new ExportTraceServiceRequest();
        request.ResourceSpans.Add(resource);
        return request;
    }

    public static ByteArrayContent Protobuf(byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        return content;
    }

    public static ByteArrayContent Protobuf(ExportTraceServiceRequest request) => Protobuf(request.ToByteArray());
}
