using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using AgentStack.Testing;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using static AgentStack.Otlp.Tests.OtlpRequests;

namespace AgentStack.Otlp.Tests.BadInput;

/// <summary>
/// Issue 17, item 5: what the fuzzing suite found answered 5xx or UNKNOWN (invalid UTF-8 in an OTLP/JSON key,
/// duplicate keys, malformed or too deeply nested protobuf over gRPC) is refused as the client's fault, naming
/// where, and writes nothing.
/// </summary>
public sealed class when_otlp_input_is_hostile(OtlpServer otlp) : IClassFixture<OtlpServer>
{
    private static readonly Uri Traces = new("/v1/traces", UriKind.Relative);

    private static readonly Method<byte[], byte[]> RawExport = new(MethodType.Unary, TraceService.Descriptor.FullName, "Export",
        Marshallers.Create(b => b, b => b), Marshallers.Create(b => b, b => b));

    [Fact]
    public async Task then_invalid_utf8_in_an_otlp_json_key_is_400_naming_the_byte_offset()
    {
        var json = Encoding.UTF8.GetBytes(OtlpJsonBody().Replace("\"name\":", "\"na\u00FFme\":", StringComparison.Ordinal));
        var bad = Array.IndexOf(json, (byte)0xC3);
        json[bad] = 0xFF; // a byte that is never UTF-8
        var (status, message) = await PostJsonAsync(json);
        status.ShouldBe(HttpStatusCode.BadRequest, message);
        message.ShouldContain($"not valid UTF-8: invalid byte 0xFF at byte offset {bad}");
        message.ShouldContain("property name of resourceSpans[0].scopeSpans[0].spans[0]");
    }

    [Fact]
    public async Task then_a_duplicate_key_in_otlp_json_is_400()
    {
        var json = Encoding.UTF8.GetBytes(OtlpJsonBody().Replace("\"name\":", "\"name\":\"first\",\"name\":", StringComparison.Ordinal));
        var (status, message) = await PostJsonAsync(json);
        status.ShouldBe(HttpStatusCode.BadRequest, message);
        message.ShouldContain("name", Case.Insensitive);
    }

    [Fact]
    public async Task then_malformed_protobuf_over_grpc_is_invalid_argument()
    {
        var before = await otlp.Server.LogPositionAsync();
        var body = Request(ChatSpan(NewTraceId()), ChatSpan(NewTraceId())).ToByteArray();
        var truncated = await Should.ThrowAsync<RpcException>(async () => await SendRawAsync(body[..(body.Length - 7)]));
        truncated.StatusCode.ShouldBe(StatusCode.InvalidArgument);
        truncated.Status.Detail.ShouldContain("truncated");

        // Nested past Google.Protobuf's recursion limit (100).
        var value = new AnyValue { StringValue = "leaf" };
        for (var i = 0; i < 150; i++)
            value = new AnyValue { KvlistValue = new KeyValueList { Values = { new KeyValue { Key = "k", Value = value } } } };
        var deep = Request(ChatSpan(NewTraceId()));
        deep.ResourceSpans[0].Resource.Attributes.Add(new KeyValue { Key = "deep", Value = value });
        var tooDeep = await Should.ThrowAsync<RpcException>(async () => await SendRawAsync(deep.ToByteArray()));
        tooDeep.StatusCode.ShouldBe(StatusCode.InvalidArgument);
        tooDeep.Status.Detail.ShouldContain("recursion", Case.Insensitive);

        (await otlp.Server.LogPositionAsync()).ShouldBe(before);
    }

    private async Task<byte[]> SendRawAsync(byte[] message)
    {
        using var channel = GrpcChannel.ForAddress(otlp.GrpcEndpoint);
        var headers = new Metadata { { "authorization", $"Bearer {ServerProcess.BootstrapKey}" } };
        return await channel.CreateCallInvoker().AsyncUnaryCall(RawExport, null, new CallOptions(headers), message);
    }

    /// <summary>A valid OTLP/JSON export of one span (the one <c>when_otlp_input_is_bad</c> shows accepted).</summary>
    private static string OtlpJsonBody()
    {
        var now = Nanos(DateTimeOffset.UtcNow.AddSeconds(-2));
        return $$$"""
            {"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"{{{Convert.ToHexStringLower(NewTraceId())}}}","spanId":"0a0b0c0d0e0f1011","name":"json span","kind":3,
             "startTimeUnixNano":"{{{now}}}","endTimeUnixNano":{{{now + 1_000_000}}}}]}]}]}
            """;
    }

    private async Task<(HttpStatusCode Status, string Message)> PostJsonAsync(byte[] json)
    {
        var before = await otlp.Server.LogPositionAsync();
        using var content = new ByteArrayContent(json);
        content.Headers.ContentType = new("application/json");
        using var response = await otlp.Server.Client.PostAsync(Traces, content);
        var text = await response.Content.ReadAsStringAsync();
        (await otlp.Server.LogPositionAsync()).ShouldBe(before);
        return (response.StatusCode, JsonNode.Parse(text)?["message"]?.GetValue<string>() ?? text);
    }
}
