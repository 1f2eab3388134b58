using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AgentStack.Testing;
using static AgentStack.Testing.Spans;

namespace AgentStack.EndToEndTests.Ingesting;

public sealed class when_spans_are_sent_again(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private readonly HttpClient client = fixture.Server.Client;
    private static readonly DateTimeOffset Start = DateTimeOffset.UtcNow.AddMinutes(-10);

    private async Task<JsonObject> PostOkAsync(string body)
    {
        using var response = await client.PostSpansAsync(body);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    private async Task<int> ReplayCountAsync(string trace) =>
        (await client.GetStringAsync(new Uri($"/api/projects/default/traces/{trace}/replay", UriKind.Relative)))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;

    [Fact]
    public async Task then_an_identical_resend_adds_no_events_and_no_rows()
    {
        var trace = NewId();
        var body = Batch(Span(trace, "a", start: Start, end: Start.AddSeconds(1), input: """{"q":"x"}"""),
            Span(trace, "b", parent: "a", start: Start, end: Start.AddSeconds(1)));
        (await PostOkAsync(body))["accepted"]!.GetValue<int>().ShouldBe(2);
        var position = await fixture.Server.LogPositionAsync();

        var again = await PostOkAsync(body);
        again["accepted"]!.GetValue<int>().ShouldBe(0);
        again["duplicates"]!.GetValue<int>().ShouldBe(2);
        (await fixture.Server.LogPositionAsync()).ShouldBe(position);
        (await ReplayCountAsync(trace)).ShouldBe(2);

        await fixture.Server.WaitForProjectionAsync();
        var detail = await client.GetFromJsonAsync<JsonObject>(new Uri($"/api/projects/default/traces/{trace}", UriKind.Relative));
        detail!["spans"]!.AsArray().Count.ShouldBe(2);
        var list = await client.GetFromJsonAsync<JsonObject>(new Uri("/api/projects/default/traces?limit=500", UriKind.Relative));
        list!["items"]!.AsArray().Count(i => i!["traceId"]!.GetValue<string>() == trace).ShouldBe(1);
    }

    [Fact]
    public async Task then_a_conflicting_resend_is_refused_naming_the_span_and_nothing_is_written()
    {
        var trace = NewId();
        await PostOkAsync(Batch(Span(trace, "a", start: Start, end: Start.AddSeconds(1), output: "\"yes\"")));
        var position = await fixture.Server.LogPositionAsync();

        // The whole batch is refused, including the new span beside the conflicting one.
        using var response = await client.PostSpansAsync(Batch(
            Span(trace, "new-span", start: Start, end: Start.AddSeconds(1)),
            Span(trace, "a", start: Start, end: Start.AddSeconds(1), output: "\"no\"")));
        response.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        var problem = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        problem["conflicts"]!.AsArray().ShouldHaveSingleItem()!["spanId"]!.GetValue<string>().ShouldBe("a");
        problem["detail"]!.GetValue<string>().ShouldContain("span a");
        (await fixture.Server.LogPositionAsync()).ShouldBe(position);
        (await ReplayCountAsync(trace)).ShouldBe(1);
    }

    [Fact]
    public async Task then_a_started_span_is_completed_by_its_second_sending()
    {
        var trace = NewId();
        (await PostOkAsync(Batch(Span(trace, "run", kind: "agent", start: Start, input: """{"task":"summarise"}"""))))["accepted"]!
            .GetValue<int>().ShouldBe(1);
        await fixture.Server.WaitForProjectionAsync();
        var running = await client.GetFromJsonAsync<JsonObject>(new Uri($"/api/projects/default/traces/{trace}", UriKind.Relative));
        running!["spans"]![0]!["endTime"].ShouldBeNull();

        (await PostOkAsync(Batch(Span(trace, "run", kind: "agent", start: Start, end: Start.AddSeconds(4),
            input: """{"task":"summarise"}""", output: """{"summary":"done"}"""))))["accepted"]!.GetValue<int>().ShouldBe(1);
        await fixture.Server.WaitForProjectionAsync();

        var replay = (await client.GetStringAsync(new Uri($"/api/projects/default/traces/{trace}/replay", UriKind.Relative)))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!["type"]!.GetValue<string>());
        replay.ShouldBe(["span.started.v1", "span.completed.v1"]);
        var done = await client.GetFromJsonAsync<JsonObject>(new Uri($"/api/projects/default/traces/{trace}", UriKind.Relative));
        var span = done!["spans"]!.AsArray().ShouldHaveSingleItem()!;
        span["endTime"]!.GetValue<string>().ShouldBe(Time(Start.AddSeconds(4)));
        span["output"]!["summary"]!.GetValue<string>().ShouldBe("done");
        var list = await client.GetFromJsonAsync<JsonObject>(new Uri("/api/projects/default/traces?limit=500", UriKind.Relative));
        var item = list!["items"]!.AsArray().Single(i => i!["traceId"]!.GetValue<string>() == trace)!;
        item["spanCount"]!.GetValue<int>().ShouldBe(1);
        item["durationMs"]!.GetValue<double>().ShouldBe(4000, 0.001);
    }
}
