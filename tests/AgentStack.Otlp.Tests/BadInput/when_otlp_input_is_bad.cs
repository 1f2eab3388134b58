using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using AgentStack.Testing;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using OpenTelemetry.Proto.Collector.Trace.V1;
using static AgentStack.Otlp.Tests.OtlpRequests;
using RpcStatus = Google.Rpc.Status;

namespace AgentStack.Otlp.Tests.BadInput;

/// <summary>
/// Bad OTLP input gets the OTLP-conformant error (HTTP status + google.rpc.Status body in the request's encoding;
/// gRPC status codes), nothing partial is written (the log position does not move), and the server stays healthy.
/// </summary>
public sealed class when_otlp_input_is_bad(OtlpServer otlp) : IClassFixture<OtlpServer>
{
    private readonly HttpClient client = otlp.Server.Client;
    private static readonly Uri Traces = new("/v1/traces", UriKind.Relative);

    [Fact]
    public async Task then_a_wrong_content_type_is_415()
    {
        var body = Request(ChatSpan(NewTraceId())).ToByteArray();
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
        var status = await RejectedAsync(content, HttpStatusCode.UnsupportedMediaType, json: true);
        status.Message.ShouldContain("application/x-protobuf");
    }

    [Fact]
    public async Task then_a_truncated_protobuf_body_is_400()
    {
        var body = Request(ChatSpan(NewTraceId()), ChatSpan(NewTraceId())).ToByteArray();
        var status = await RejectedAsync(Protobuf(body[..(body.Length - 7)]), HttpStatusCode.BadRequest);
        status.Code.ShouldBe((int)StatusCode.InvalidArgument);
        status.Message.ShouldContain("truncated");
    }

    [Fact]
    public async Task then_invalid_json_is_400()
    {
        var content = new StringContent("""{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":""", Encoding.UTF8, "application/json");
        var status = await RejectedAsync(content, HttpStatusCode.BadRequest, json: true);
        status.Message.ShouldContain("not valid JSON");
    }

    [Theory]
    [InlineData("""{"resourceSpans":[1]}""")]
    [InlineData("""{"resourceSpans":[{"scopeSpans":["x"]}]}""")]
    [InlineData("""{"resourceSpans":[{"scopeSpans":[{"spans":[[]]}]}]}""")]
    public async Task then_json_of_the_wrong_shape_is_400_not_500(string body)
    {
        var status = await RejectedAsync(new StringContent(body, Encoding.UTF8, "application/json"), HttpStatusCode.BadRequest, json: true);
        status.Message.ShouldNotBeNullOrWhiteSpace();
    }

    [Fact]
    public async Task then_an_oversized_body_is_413_and_an_oversized_gzip_body_too()
    {
        var big = Request(ChatSpan(NewTraceId(), content: new string('x', OtlpServer.MaxBodyBytes + 10)));
        var status = await RejectedAsync(Protobuf(big), HttpStatusCode.RequestEntityTooLarge);
        status.Message.ShouldContain("MaxBodyBytes");

        // Compresses to a few kB, inflates past the limit: refused while inflating.
        var gzip = Protobuf(Gzip(big.ToByteArray()));
        gzip.Headers.ContentEncoding.Add("gzip");
        (await RejectedAsync(gzip, HttpStatusCode.RequestEntityTooLarge)).Message.ShouldContain("MaxBodyBytes");
    }

    [Theory]
    [InlineData("truncated", "The gzip body is truncated")]
    [InlineData("garbage after", "The body has bytes after the gzip stream")]
    [InlineData("not gzip", "The body is not gzip")]
    public async Task then_a_bad_gzip_body_is_400_saying_what_is_wrong(string kind, string message)
    {
        var body = Request(ChatSpan(NewTraceId()), ChatSpan(NewTraceId())).ToByteArray();
        var content = Protobuf(kind switch
        {
            "truncated" => Gzip(body)[..^5],
            "garbage after" => [.. Gzip(body), .. "garbage"u8],
            _ => body,
        });
        content.Headers.ContentEncoding.Add("gzip");
        var status = await RejectedAsync(content, HttpStatusCode.BadRequest);
        status.Code.ShouldBe((int)StatusCode.InvalidArgument);
        status.Message.ShouldStartWith(message);
    }

    [Fact]
    public async Task then_invalid_ids_are_400_naming_the_span()
    {
        var shortTrace = ChatSpan(NewTraceId()[..15], name: "short trace id");
        var status = await RejectedAsync(Protobuf(Request(shortTrace)), HttpStatusCode.BadRequest);
        status.Message.ShouldContain("short trace id");
        status.Message.ShouldContain("traceId is 15 bytes");

        var zeroSpan = ChatSpan(NewTraceId(), new byte[8], name: "zero span id");
        status = await RejectedAsync(Protobuf(Request(zeroSpan)), HttpStatusCode.BadRequest);
        status.Message.ShouldContain("zero span id");
        status.Message.ShouldContain("spanId is all zeros");

        var json = new StringContent("""
            {"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"not-hex","spanId":"0102030405060708","name":"x","startTimeUnixNano":"1750000000000000000"}]}]}]}
            """, Encoding.UTF8, "application/json");
        (await RejectedAsync(json, HttpStatusCode.BadRequest, json: true)).Message.ShouldContain("not a hex string");
    }

    [Fact]
    public async Task then_absurd_timestamps_are_400_naming_the_span_and_nothing_of_the_batch_is_written()
    {
        var traceId = NewTraceId();
        var good = ChatSpan(traceId, name: "good span");
        var zero = ChatSpan(traceId, name: "epoch span");
        zero.StartTimeUnixNano = 0;
        var future = ChatSpan(traceId, name: "future span", start: new DateTimeOffset(2200, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var status = await RejectedAsync(Protobuf(Request(good, zero, future)), HttpStatusCode.BadRequest);
        status.Message.ShouldContain("epoch span");
        status.Message.ShouldContain("future span");
        status.Message.ShouldContain("startTimeUnixNano");
        status.Message.ShouldNotContain("good span");

        using var read = await client.GetAsync(new Uri($"/api/projects/default/traces/{Convert.ToHexStringLower(traceId)}", UriKind.Relative));
        read.StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task then_grpc_answers_invalid_argument_and_unauthenticated()
    {
        using var channel = GrpcChannel.ForAddress(otlp.GrpcEndpoint);
        var service = new TraceService.TraceServiceClient(channel);
        var before = await otlp.Server.LogPositionAsync();
        var headers = new Metadata { { "authorization", $"Bearer {ServerProcess.BootstrapKey}" } };

        var invalid = await Should.ThrowAsync<RpcException>(async () =>
            await service.ExportAsync(Request(ChatSpan(NewTraceId()[..4], name: "bad over grpc")), headers));
        invalid.StatusCode.ShouldBe(StatusCode.InvalidArgument);
        invalid.Status.Detail.ShouldContain("bad over grpc");

        var anonymous = await Should.ThrowAsync<RpcException>(async () => await service.ExportAsync(Request(ChatSpan(NewTraceId()))));
        anonymous.StatusCode.ShouldBe(StatusCode.Unauthenticated);
        var wrongKey = await Should.ThrowAsync<RpcException>(async () =>
            await service.ExportAsync(Request(ChatSpan(NewTraceId())), new Metadata { { "x-api-key", "ask_nope" } }));
        wrongKey.StatusCode.ShouldBe(StatusCode.Unauthenticated);

        (await otlp.Server.LogPositionAsync()).ShouldBe(before);
        var ok = await service.ExportAsync(Request(ChatSpan(NewTraceId())), new Metadata { { "x-api-key", ServerProcess.BootstrapKey } });
        ok.PartialSuccess.ShouldBeNull();
    }

    [Fact]
    public async Task then_a_resend_is_accepted_with_a_warning_and_a_conflicting_resend_is_409()
    {
        var traceId = NewTraceId();
        var spanId = NewSpanId();
        var start = DateTimeOffset.UtcNow.AddMinutes(-1);
        var request = Request(ChatSpan(traceId, spanId, start: start));
        using (var first = await client.PostAsync(Traces, Protobuf(request)))
            first.StatusCode.ShouldBe(HttpStatusCode.OK);
        var position = await otlp.Server.LogPositionAsync();

        using (var again = await client.PostAsync(Traces, Protobuf(request)))
        {
            again.StatusCode.ShouldBe(HttpStatusCode.OK);
            var response = ExportTraceServiceResponse.Parser.ParseFrom(await again.Content.ReadAsByteArrayAsync());
            response.PartialSuccess.RejectedSpans.ShouldBe(0);
            response.PartialSuccess.ErrorMessage.ShouldContain("already recorded");
        }
        var conflicting = await RejectedAsync(Protobuf(Request(ChatSpan(traceId, spanId, start: start, content: "changed"))), HttpStatusCode.Conflict);
        conflicting.Code.ShouldBe((int)StatusCode.AlreadyExists);
        (await otlp.Server.LogPositionAsync()).ShouldBe(position);
    }

    [Fact]
    public async Task then_gzip_json_with_the_x_api_key_header_is_accepted()
    {
        var traceId = Convert.ToHexStringLower(NewTraceId());
        var now = Nanos(DateTimeOffset.UtcNow.AddSeconds(-2));
        var json = $$$"""
            {"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"{{{traceId}}}","spanId":"0a0b0c0d0e0f1011","name":"json span","kind":3,
             "startTimeUnixNano":"{{{now}}}","endTimeUnixNano":{{{now + 1_000_000}}},
             "attributes":[{"key":"openinference.span.kind","value":{"stringValue":"LLM"}},{"key":"llm.model_name","value":{"stringValue":"gpt-4o"}}]}]}]}]}
            """;
        var content = new ByteArrayContent(Gzip(Encoding.UTF8.GetBytes(json)));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        content.Headers.ContentEncoding.Add("gzip");
        using var anonymous = new HttpClient { BaseAddress = otlp.Server.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Post, Traces) { Content = content };
        request.Headers.Add("x-api-key", ServerProcess.BootstrapKey);
        using var response = await anonymous.SendAsync(request);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/json");

        var spans = await otlp.SpansOfAsync(traceId);
        spans.Single()!["kind"]!.GetValue<string>().ShouldBe("llm");
        spans.Single()!["model"]!.GetValue<string>().ShouldBe("gpt-4o");
    }

    [Fact]
    public async Task then_no_key_is_401()
    {
        using var anonymous = new HttpClient { BaseAddress = otlp.Server.BaseAddress };
        using var response = await anonymous.PostAsync(Traces, Protobuf(Request(ChatSpan(NewTraceId()))));
        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    /// <summary>Posts, expects the status, decodes the google.rpc.Status body; checks nothing was written and the server is healthy.</summary>
    private async Task<RpcStatus> RejectedAsync(HttpContent content, HttpStatusCode expected, bool json = false)
    {
        var before = await otlp.Server.LogPositionAsync();
        using var response = await client.PostAsync(Traces, content);
        var body = await response.Content.ReadAsByteArrayAsync();
        response.StatusCode.ShouldBe(expected, Encoding.UTF8.GetString(body));
        RpcStatus status;
        if (json)
        {
            response.Content.Headers.ContentType!.MediaType.ShouldBe("application/json");
            var node = JsonNode.Parse(body)!;
            status = new RpcStatus { Code = node["code"]!.GetValue<int>(), Message = node["message"]!.GetValue<string>() };
            node["status"]!.GetValue<int>().ShouldBe((int)expected);
        }
        else
        {
            response.Content.Headers.ContentType!.MediaType.ShouldBe("application/x-protobuf");
            status = RpcStatus.Parser.ParseFrom(body);
        }
        status.Message.ShouldNotBeNullOrWhiteSpace();
        (await otlp.Server.LogPositionAsync()).ShouldBe(before);
        using var ready = await client.GetAsync(new Uri("/health/ready", UriKind.Relative));
        ready.StatusCode.ShouldBe(HttpStatusCode.OK);
        return status;
    }

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
            gzip.Write(data);
        return output.ToArray();
    }
}
