using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using static AgentStack.Otlp.Tests.OtlpRequests;
using static AgentStack.Testing.Spans;

namespace AgentStack.Otlp.Tests.Receiving;

/// <summary>
/// Every HTTP ingestion endpoint reads its body into an array rented from the shared pool and returns the array once
/// the body is parsed, so the next request writes over it. Bodies of about 100 KB (one pool size) go in concurrent
/// rounds through /v1/spans, OTLP/HTTP JSON and OTLP/HTTP protobuf, plain and gzip: a span still pointing into a
/// returned array would come back holding another request's bytes. Every payload must read back as sent.
/// </summary>
public sealed class when_large_bodies_follow_one_another(OtlpServer otlp) : IClassFixture<OtlpServer>
{
    private readonly HttpClient client = otlp.Server.Client;

    [Fact]
    public async Task then_every_payload_reads_back_byte_for_byte()
    {
        var sent = new List<(string TraceId, string Input)>();
        for (var round = 0; round < 4; round++)
        {
            var requests = new List<Task<(string TraceId, string Input)>>();
            foreach (var gzip in new[] { false, true })
            {
                requests.Add(NativeAsync($"round {round} native {(gzip ? "gzip " : "plain")}", gzip));
                requests.Add(OtlpJsonAsync($"round {round} json   {(gzip ? "gzip " : "plain")}", gzip));
                requests.Add(OtlpProtobufAsync($"round {round} proto  {(gzip ? "gzip " : "plain")}", gzip));
            }
            sent.AddRange(await Task.WhenAll(requests));
        }

        await otlp.Server.WaitForProjectionAsync();
        foreach (var (traceId, input) in sent)
        {
            var raw = await client.GetStringAsync(new Uri($"/api/projects/default/traces/{traceId}", UriKind.Relative));
            raw.Contains($"\"input\":{input}", StringComparison.Ordinal).ShouldBeTrue($"trace {traceId}: the input is not as sent");
        }
    }

    /// <summary>About 100,000 characters that name their request, so another request's bytes stand out.</summary>
    private static string Text(string label) => string.Concat(Enumerable.Repeat($"{label} says hello. ", 100_000 / (label.Length + 13)));

    private async Task<(string, string)> NativeAsync(string label, bool gzip)
    {
        var traceId = NewId();
        // Odd spacing and number forms on purpose: raw JSON is stored as sent.
        var input = $$"""{"text": "{{Text(label)}}",  "n":1e2}""";
        await PostAsync("/v1/spans", "application/json", Encoding.UTF8.GetBytes(Batch(Span(traceId, "s1", end: DateTimeOffset.UtcNow, input: input))), gzip);
        return (traceId, input);
    }

    private async Task<(string, string)> OtlpProtobufAsync(string label, bool gzip)
    {
        var span = ChatSpan(NewTraceId(), content: Text(label));
        await PostAsync("/v1/traces", "application/x-protobuf", Request(span).ToByteArray(), gzip);
        return (Convert.ToHexStringLower(span.TraceId.Span), InputMessages(span));
    }

    private async Task<(string, string)> OtlpJsonAsync(string label, bool gzip)
    {
        var span = ChatSpan(NewTraceId(), content: Text(label));
        var traceId = Convert.ToHexStringLower(span.TraceId.Span);
        var json = $$$"""
            {"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"{{{traceId}}}","spanId":"{{{Convert.ToHexStringLower(span.SpanId.Span)}}}",
             "name":"{{{span.Name}}}","kind":3,"startTimeUnixNano":"{{{span.StartTimeUnixNano}}}","endTimeUnixNano":"{{{span.EndTimeUnixNano}}}",
             "attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},
              {"key":"gen_ai.input.messages","value":{"stringValue":{{{JsonSerializer.Serialize(InputMessages(span))}}}}}]}]}]}]}
            """;
        await PostAsync("/v1/traces", "application/json", Encoding.UTF8.GetBytes(json), gzip);
        return (traceId, InputMessages(span));
    }

    private static string InputMessages(OpenTelemetry.Proto.Trace.V1.Span span) =>
        span.Attributes.Single(a => a.Key == "gen_ai.input.messages").Value.StringValue;

    private async Task PostAsync(string path, string contentType, byte[] body, bool gzip)
    {
        if (gzip)
        {
            using var output = new MemoryStream();
            using (var compressor = new GZipStream(output, CompressionLevel.Fastest))
                compressor.Write(body);
            body = output.ToArray();
        }
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        if (gzip)
            content.Headers.ContentEncoding.Add("gzip");
        using var response = await client.PostAsync(new Uri(path, UriKind.Relative), content);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, $"{path}: {await response.Content.ReadAsStringAsync()}");
    }
}
