using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentStack.Testing;
using static AgentStack.Testing.Spans;

namespace AgentStack.EndToEndTests.Ingesting;

public sealed class when_spans_are_ingested(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    // Odd spacing, escapes and number forms on purpose: they must come back byte for byte.
    private const string Input = """{"messages": [ {"role":"user","content":"caf\u00e9 \"quoted\"  ☕"} ],"temperature":0.50,"n":1e2}""";
    private const string Output = """[ "first",   {"tool_calls":[{"name":"search","arguments":"{\"q\":1}"}]} ]""";

    private readonly HttpClient client = fixture.Server.Client;

    private async Task<(string TraceId, DateTimeOffset Start)> IngestAgentRunAsync()
    {
        var trace = NewId();
        var start = DateTimeOffset.UtcNow.AddMinutes(-2);
        var body = Batch(
            Span(trace, "root", name: "research agent", kind: "agent", start: start, end: start.AddSeconds(3)),
            Span(trace, "llm1", parent: "root", name: "plan", start: start.AddMilliseconds(100), end: start.AddSeconds(1),
                input: Input, output: Output, extra: "\"model\":\"gpt-4o\",\"provider\":\"openai\",\"inputTokens\":120,\"outputTokens\":30,\"costUsd\":0.0015"),
            Span(trace, "tool1", parent: "root", name: "search", kind: "tool", start: start.AddSeconds(1), end: start.AddSeconds(2),
                status: "error", extra: "\"statusMessage\":\"timeout after 1s\",\"attributes\":{\"tool.name\":\"search\",\"retries\":2}"));
        using var response = await client.PostSpansAsync(body);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var answer = await response.Content.ReadFromJsonAsync<JsonObject>();
        answer!["accepted"]!.GetValue<int>().ShouldBe(3);
        answer["duplicates"]!.GetValue<int>().ShouldBe(0);
        return (trace, start);
    }

    [Fact]
    public async Task then_the_trace_is_listed_with_its_totals()
    {
        var (trace, start) = await IngestAgentRunAsync();
        await fixture.Server.WaitForProjectionAsync();

        var list = await client.GetFromJsonAsync<JsonObject>(new Uri("/api/projects/default/traces?limit=500", UriKind.Relative));
        var item = list!["items"]!.AsArray().Single(i => i!["traceId"]!.GetValue<string>() == trace)!;
        item["name"]!.GetValue<string>().ShouldBe("research agent");
        item["spanCount"]!.GetValue<int>().ShouldBe(3);
        item["errorCount"]!.GetValue<int>().ShouldBe(1);
        item["inputTokens"]!.GetValue<long>().ShouldBe(120);
        item["outputTokens"]!.GetValue<long>().ShouldBe(30);
        item["costUsd"]!.GetValue<decimal>().ShouldBe(0.0015m);
        item["durationMs"]!.GetValue<double>().ShouldBe(3000, 0.001);
        item["startTime"]!.GetValue<string>().ShouldBe(Time(start));

        var errors = await client.GetFromJsonAsync<JsonObject>(new Uri("/api/projects/default/traces?status=error&limit=500", UriKind.Relative));
        errors!["items"]!.AsArray().ShouldContain(i => i!["traceId"]!.GetValue<string>() == trace);
        var oks = await client.GetFromJsonAsync<JsonObject>(new Uri("/api/projects/default/traces?status=ok&limit=500", UriKind.Relative));
        oks!["items"]!.AsArray().ShouldNotContain(i => i!["traceId"]!.GetValue<string>() == trace);
    }

    [Fact]
    public async Task then_the_trace_detail_holds_every_span_with_payloads_as_sent()
    {
        var (trace, _) = await IngestAgentRunAsync();
        await fixture.Server.WaitForProjectionAsync();

        var raw = await client.GetStringAsync(new Uri($"/api/projects/default/traces/{trace}", UriKind.Relative));
        raw.ShouldContain($"\"input\":{Input}");
        raw.ShouldContain($"\"output\":{Output}");
        var detail = JsonNode.Parse(raw)!;
        var spans = detail["spans"]!.AsArray();
        spans.Select(s => s!["spanId"]!.GetValue<string>()).ShouldBe(["root", "llm1", "tool1"]);
        var llm = spans[1]!;
        llm["parentSpanId"]!.GetValue<string>().ShouldBe("root");
        llm["model"]!.GetValue<string>().ShouldBe("gpt-4o");
        llm["kind"]!.GetValue<string>().ShouldBe("llm");
        var tool = spans[2]!;
        tool["status"]!.GetValue<string>().ShouldBe("error");
        tool["statusMessage"]!.GetValue<string>().ShouldBe("timeout after 1s");
        tool["attributes"]!["retries"]!.GetValue<int>().ShouldBe(2);
    }

    [Fact]
    public async Task then_replay_streams_the_stored_events_in_order_byte_for_byte()
    {
        var (trace, _) = await IngestAgentRunAsync();
        var ndjson = await client.GetStringAsync(new Uri($"/api/projects/default/traces/{trace}/replay", UriKind.Relative));
        var lines = ndjson.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Length.ShouldBe(3);
        lines[1].ShouldContain($"\"input\":{Input}");
        lines[1].ShouldContain($"\"output\":{Output}");

        var events = lines.Select(l => JsonNode.Parse(l)!).ToList();
        events.Select(e => e["version"]!.GetValue<long>()).ShouldBe([1L, 2L, 3L]);
        events.Select(e => e["type"]!.GetValue<string>()).ShouldAllBe(t => t == "span.completed.v1");
        events.Select(e => e["data"]!["span"]!["spanId"]!.GetValue<string>()).ShouldBe(["root", "llm1", "tool1"]);
        var positions = events.Select(e => e["position"]!.GetValue<long>()).ToList();
        positions.ShouldBe(positions.Order().ToList());
        events[0]["prevHash"]!.GetValue<string>().ShouldBe(new string('0', 64));
        events[1]["prevHash"]!.GetValue<string>().ShouldBe(events[0]["hash"]!.GetValue<string>());
        events[2]["prevHash"]!.GetValue<string>().ShouldBe(events[1]["hash"]!.GetValue<string>());
        DateTimeOffset.Parse(events[0]["recordedAt"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture)
            .ShouldBeGreaterThan(DateTimeOffset.UtcNow.AddMinutes(-5));

        var fromTwo = await client.GetStringAsync(new Uri($"/api/projects/default/traces/{trace}/replay?fromVersion=2", UriKind.Relative));
        fromTwo.ShouldBe(string.Join('\n', lines.Skip(1)) + "\n");
    }

    [Fact]
    public async Task then_a_followed_replay_from_a_later_version_waits_for_spans_started_before_it()
    {
        var ct = TestContext.Current.CancellationToken;
        var trace = NewId();
        var start = DateTimeOffset.UtcNow.AddMinutes(-1);
        string Root(DateTimeOffset? end) => Span(trace, "root", name: "agent", kind: "agent", start: start, end: end);
        string Child(DateTimeOffset? end) => Span(trace, "child", parent: "root", name: "tool", kind: "tool", start: start.AddSeconds(1), end: end);
        async Task PostAsync(params string[] spans)
        {
            using var posted = await client.PostSpansAsync(Batch(spans));
            posted.StatusCode.ShouldBe(HttpStatusCode.OK, await posted.Content.ReadAsStringAsync(ct));
        }
        await PostAsync(Root(null), Child(null));
        await PostAsync(Root(start.AddSeconds(5)));

        // Version 3 completes the root, but the child started at version 2 is still open: the run is not over.
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"/api/projects/default/traces/{trace}/replay?follow=true&fromVersion=3", UriKind.Relative));
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
        async Task<JsonNode?> NextAsync()
        {
            while (await reader.ReadLineAsync(ct).AsTask().WaitAsync(TimeSpan.FromSeconds(30), ct) is { } line)
            {
                if (line.Length > 0)
                    return JsonNode.Parse(line);
            }
            return null;
        }
        var first = (await NextAsync()).ShouldNotBeNull();
        first["version"]!.GetValue<long>().ShouldBe(3);

        await PostAsync(Child(start.AddSeconds(2)));
        var pushed = (await NextAsync()).ShouldNotBeNull("the stream ended while the child span was still open");
        (pushed["version"]!.GetValue<long>(), pushed["data"]!["span"]!["spanId"]!.GetValue<string>()).ShouldBe((4L, "child"));
        (await NextAsync()).ShouldBeNull("the run is over once the child completes");
    }

    [Fact]
    public async Task then_replay_speaks_server_sent_events_when_asked()
    {
        var (trace, _) = await IngestAgentRunAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/projects/default/traces/{trace}/replay");
        request.Headers.Accept.ParseAdd("text/event-stream");
        using var response = await client.SendAsync(request);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("text/event-stream");
        var text = await response.Content.ReadAsStringAsync();
        var frames = text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        frames.Length.ShouldBe(4);
        frames[0].ShouldStartWith("id: 1\nevent: span.completed.v1\ndata: {\"version\":1,");
        frames[3].ShouldStartWith("event: end");
    }

    [Fact]
    public async Task then_a_payload_sent_with_line_breaks_replays_as_one_ndjson_line()
    {
        var trace = NewId();
        const string pretty = "{\n  \"question\": \"two\\nlines\",\r\n  \"n\": [1,\n 2]\n}";
        const string attributes = "{\n\"tool.name\":\r\"search\"}";
        var body = Batch(Span(trace, "root", kind: "agent", input: pretty, extra: $"\"attributes\":{attributes}"));
        (await client.PostSpansAsync(body)).EnsureSuccessStatusCode();

        var ndjson = await client.GetStringAsync(new Uri($"/api/projects/default/traces/{trace}/replay", UriKind.Relative));
        var line = ndjson.Split('\n', StringSplitOptions.RemoveEmptyEntries).ShouldHaveSingleItem();
        var span = JsonNode.Parse(line)!["data"]!["span"]!;
        JsonNode.DeepEquals(span["input"], JsonNode.Parse(pretty)).ShouldBeTrue(span["input"]!.ToJsonString());
        span["input"]!["question"]!.GetValue<string>().ShouldBe("two\nlines");
        JsonNode.DeepEquals(span["attributes"], JsonNode.Parse(attributes)).ShouldBeTrue();
        // Spacing stays; only the line breaks between tokens became spaces.
        line.ShouldContain("\"input\":{   \"question\": \"two\\nlines\",    \"n\": [1,  2] }");

        using var again = await client.PostSpansAsync(body);
        (await again.Content.ReadFromJsonAsync<JsonObject>())!["duplicates"]!.GetValue<int>().ShouldBe(1);
    }

    [Fact]
    public async Task then_server_sent_events_carry_a_payload_sent_with_line_breaks_whole()
    {
        var trace = NewId();
        const string pretty = "{\n  \"question\": \"hi\",\r\n  \"n\": [1,\n 2]\n}";
        (await client.PostSpansAsync(Batch(Span(trace, "root", kind: "agent", input: pretty)))).EnsureSuccessStatusCode();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/projects/default/traces/{trace}/replay");
        request.Headers.Accept.ParseAdd("text/event-stream");
        using var response = await client.SendAsync(request);
        var frame = (await response.Content.ReadAsStringAsync()).Split("\n\n")[0];
        // As every SSE reader does: fields are lines, data lines are joined with \n, other lines are not data.
        var data = string.Join('\n', frame.Split('\n').Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).Select(l => l[6..]));
        var input = JsonNode.Parse(data)!["data"]!["span"]!["input"]!;
        JsonNode.DeepEquals(input, JsonNode.Parse(pretty)).ShouldBeTrue(input.ToJsonString());
    }

    [Fact]
    public async Task then_unknown_traces_are_404()
    {
        using var detail = await client.GetAsync(new Uri($"/api/projects/default/traces/{NewId()}", UriKind.Relative));
        detail.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        using var replay = await client.GetAsync(new Uri($"/api/projects/default/traces/{NewId()}/replay", UriKind.Relative));
        replay.StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task then_pages_follow_the_cursor_newest_first()
    {
        var start = DateTimeOffset.UtcNow.AddHours(-30);
        var traces = Enumerable.Range(0, 5).Select(_ => NewId()).ToList();
        var body = Batch(traces.Select((t, i) => Span(t, "s", start: start.AddMinutes(i), end: start.AddMinutes(i).AddSeconds(1))).ToArray());
        (await client.PostSpansAsync(body)).EnsureSuccessStatusCode();
        await fixture.Server.WaitForProjectionAsync();

        var seen = new List<string>();
        string? cursor = null;
        var window = $"from={Time(start.AddSeconds(-1))}&to={Time(start.AddMinutes(10))}";
        do
        {
            var page = await client.GetFromJsonAsync<JsonObject>(new Uri(
                $"/api/projects/default/traces?{window}&limit=2" + (cursor is null ? "" : $"&cursor={cursor}"), UriKind.Relative));
            seen.AddRange(page!["items"]!.AsArray().Select(i => i!["traceId"]!.GetValue<string>()));
            cursor = page["next"]?.GetValue<string>();
        } while (cursor is not null);
        seen.ShouldBe(Enumerable.Reverse(traces).ToList());
    }
}
