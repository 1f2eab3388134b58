using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AgentStack.Testing;
using static AgentStack.Testing.Spans;

namespace AgentStack.EndToEndTests.Ingesting;

/// <summary>A server whose attribute values may be 16 characters long, so a value's escapes can cross the limit cheaply.</summary>
public sealed class ShortAttributeValuesServer : IAsyncLifetime
{
    public const int MaxAttributeValueLength = 16;

    public ServerProcess Server { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Server = await ServerProcess.StartAsync(new()
    {
        ["AgentStack__Ingest__MaxAttributeValueLength"] = MaxAttributeValueLength.ToString(System.Globalization.CultureInfo.InvariantCulture),
    });

    public async ValueTask DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>
/// An escaped lone surrogate (<c>"caf\ud83d"</c>: a string cut inside a pair, as JavaScript's and Python's JSON writers
/// escape it) is valid JSON but no UTF-16 text. It is accepted wherever a span holds JSON, kept as sent, counted as one
/// character, and read as U+FFFD (docs/ingestion.md). An attribute name holding one, or a string value whose escapes
/// made it look longer than the limit, was refused with 400.
/// </summary>
public sealed class when_strings_hold_lone_surrogates(ShortAttributeValuesServer fixture) : IClassFixture<ShortAttributeValuesServer>
{
    private readonly ServerProcess server = fixture.Server;

    // "long" is 21 characters as written, 16 (the limit) as text.
    private const string Attributes = """{"k\ud800":"v","short":"caf\ud83d","long":"\ud83dxxxxxxxxxxxxxxx","session.id":"SESSION","user.id":"u\ud83d"}""";
    private const string Input = """{"messages":[{"role":"user","content":"Write to ann@example.org about the caf\ud83d"}]}""";
    private const string Output = "\"caf\\udc00\"";

    [Fact]
    public async Task then_the_span_is_recorded_as_sent_and_every_projection_reads_it()
    {
        var trace = NewId();
        var session = "s" + trace[..8];
        var attributes = Attributes.Replace("SESSION", session, StringComparison.Ordinal);
        var start = DateTimeOffset.UtcNow.AddMinutes(-1);
        using var response = await server.Client.PostSpansAsync(Batch(
            Span(trace, "root", kind: "agent", start: start, end: start.AddSeconds(1), input: Input, output: Output, extra: $"\"attributes\":{attributes}")));
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());

        // Replay is the log: the escapes as they were received.
        var replay = await server.Client.GetStringAsync(new Uri($"/api/projects/default/traces/{trace}/replay", UriKind.Relative));
        var line = replay.Split('\n', StringSplitOptions.RemoveEmptyEntries).ShouldHaveSingleItem();
        line.ShouldContain($"\"attributes\":{attributes}");
        line.ShouldContain($"\"input\":{Input}");
        line.ShouldContain($"\"output\":{Output}");

        // Every projection passes the span: the analytics tables serve the trace, the detectors read the e-mail address.
        foreach (var projection in new[] { "analytics", "detections", "security-findings", "findings", "anomalies", "alerts" })
        {
            using var wait = await server.Client.GetAsync(new Uri($"/api/projections/{projection}/wait?timeoutSeconds=60", UriKind.Relative));
            wait.StatusCode.ShouldBe(HttpStatusCode.OK, $"{projection}: {await wait.Content.ReadAsStringAsync()}");
        }
        var status = await server.Client.GetFromJsonAsync<JsonObject>(new Uri("/api/projections", UriKind.Relative));
        status!["projections"]!.AsArray().Where(p => p!["lastError"] is not null).ShouldBeEmpty(status.ToJsonString());

        // The analytics tables read a lone surrogate as U+FFFD (written \ufffd, the same six bytes), as ClickHouse's JSON
        // functions can then read the attributes: the session and the user they name find the trace.
        static string Read(string json) => json.Replace("\\ud83d", "\\ufffd", StringComparison.Ordinal)
            .Replace("\\ud800", "\\ufffd", StringComparison.Ordinal).Replace("\\udc00", "\\ufffd", StringComparison.Ordinal);
        var detail = await server.Client.GetStringAsync(new Uri($"/api/projects/default/traces/{trace}", UriKind.Relative));
        detail.ShouldContain($"\"input\":{Read(Input)}");
        detail.ShouldContain($"\"output\":{Read(Output)}");
        detail.ShouldContain($"\"attributes\":{Read(attributes)}");
        JsonNode.Parse(detail)!["spans"]!.AsArray().ShouldHaveSingleItem()!["attributes"]!["k\uFFFD"]!.GetValue<string>().ShouldBe("v");
        var bySession = await server.Client.GetFromJsonAsync<JsonObject>(new Uri($"/api/projects/default/traces?sessionId={session}", UriKind.Relative));
        bySession!["items"]!.AsArray().ShouldHaveSingleItem()!["traceId"]!.GetValue<string>().ShouldBe(trace);
        var byUser = await server.Client.GetFromJsonAsync<JsonObject>(new Uri($"/api/projects/default/traces?userId={Uri.EscapeDataString("u\uFFFD")}", UriKind.Relative));
        byUser!["items"]!.AsArray().ShouldContain(i => i!["traceId"]!.GetValue<string>() == trace);
        var findings = await server.Client.GetFromJsonAsync<JsonObject>(new Uri($"/api/projects/default/traces/{trace}/findings", UriKind.Relative));
        findings!.ToJsonString().ShouldContain("sensitive_data");
    }

    [Fact]
    public async Task then_a_value_longer_than_the_limit_as_text_is_refused_with_its_length()
    {
        var before = await server.LogPositionAsync();
        const string attributes = """{"long":"\ud83dxxxxxxxxxxxxxxxx"}""";
        using var response = await server.Client.PostSpansAsync(Batch(Span(NewId(), "s", extra: $"\"attributes\":{attributes}")));
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, text);
        JsonNode.Parse(text)!["errors"]!["spans[0].attributes.long"]![0]!.GetValue<string>()
            .ShouldBe("attribute 'long' is 17 characters long; the limit is 16 (MaxAttributeValueLength)");
        (await server.LogPositionAsync()).ShouldBe(before);
    }

    /// <summary>A span's own text fields and OTLP/JSON are decoded on the way in: there a lone surrogate is U+FFFD.</summary>
    [Fact]
    public async Task then_a_decoded_field_holds_u_fffd_in_its_place()
    {
        var trace = NewId();
        var start = DateTimeOffset.UtcNow.AddMinutes(-1);
        using (var native = await server.Client.PostSpansAsync(Batch(Span(trace, "root", name: "caf\\ud83d", start: start, end: start.AddSeconds(1)))))
            native.StatusCode.ShouldBe(HttpStatusCode.OK, await native.Content.ReadAsStringAsync());

        var otlpTrace = Guid.NewGuid().ToString("N");
        var nanos = (start - DateTimeOffset.UnixEpoch).Ticks * 100;
        var otlp = $$$"""
            {"resourceSpans":[{"scopeSpans":[{"spans":[
              {"traceId":"{{{otlpTrace}}}","spanId":"0102030405060708","name":"tea\udc00","kind":1,
               "startTimeUnixNano":"{{{nanos}}}","endTimeUnixNano":"{{{nanos + 1_000_000}}}",
               "attributes":[{"key":"k\ud800","value":{"stringValue":"caf\ud83d"}},{"key":"pair","value":{"stringValue":"\ud83d\ude00"}}]}]}]}]}
            """;
        using (var response = await server.Client.PostAsync(new Uri("/v1/traces", UriKind.Relative), Json(otlp)))
            response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());

        await server.WaitForProjectionAsync();
        var recorded = await server.Client.GetFromJsonAsync<JsonObject>(new Uri($"/api/projects/default/traces/{trace}", UriKind.Relative));
        recorded!["spans"]![0]!["name"]!.GetValue<string>().ShouldBe("caf\uFFFD");
        var mapped = (await server.Client.GetFromJsonAsync<JsonObject>(new Uri($"/api/projects/default/traces/{otlpTrace}", UriKind.Relative)))!["spans"]![0]!;
        mapped["name"]!.GetValue<string>().ShouldBe("tea\uFFFD");
        mapped["attributes"]!["k\uFFFD"]!.GetValue<string>().ShouldBe("caf\uFFFD");
        mapped["attributes"]!["pair"]!.GetValue<string>().ShouldBe("\U0001F600");
    }

    [Fact]
    public async Task then_the_guard_reads_one_as_u_fffd()
    {
        using var response = await server.Client.PostAsync(new Uri("/v1/guard", UriKind.Relative),
            Json("""{"text":"caf\ud83d, mail ann@example.org","role":"user_input"}"""));
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, text);
        var email = JsonNode.Parse(text)!["findings"]!.AsArray().Single(f => f!["kind"]!.GetValue<string>() == "email")!;
        (email["start"]!.GetValue<int>(), email["length"]!.GetValue<int>()).ShouldBe((11, 15));
    }
}
