using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AgentStack.Testing;
using static AgentStack.Testing.Spans;

namespace AgentStack.EndToEndTests.Reading;

/// <summary>
/// Issue 14.5: the trace list and a trace read as of a log position or a time are answered from the log, so
/// a span or a completion recorded later is invisible there, while the present view shows it.
/// </summary>
public sealed class when_traces_are_read_as_of_a_point(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private readonly HttpClient client = fixture.Server.Client;
    private static readonly DateTimeOffset Start = DateTimeOffset.UtcNow.AddMinutes(-10);

    private async Task PostOkAsync(string body)
    {
        using var response = await client.PostSpansAsync(body);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    private async Task<JsonObject> GetAsync(string path) =>
        (await client.GetFromJsonAsync<JsonObject>(new Uri(path, UriKind.Relative)))!;

    [Fact]
    public async Task then_a_later_span_and_completion_are_invisible_as_of_an_earlier_position_or_time()
    {
        var trace = NewId();
        await PostOkAsync(Batch(Span(trace, "run", kind: "agent", start: Start, input: "\"plan\"")));
        var earlier = await fixture.Server.LogPositionAsync();
        var recordedAt = JsonNode.Parse((await client.GetStringAsync(new Uri($"/api/projects/default/traces/{trace}/replay", UriKind.Relative))).Split('\n')[0])!
            ["recordedAt"]!.GetValue<string>();

        await PostOkAsync(Batch(
            Span(trace, "run", kind: "agent", start: Start, end: Start.AddSeconds(5), input: "\"plan\"", output: "\"done\""),
            Span(trace, "llm", parent: "run", start: Start.AddSeconds(1), end: Start.AddSeconds(2), status: "error")));
        var later = NewId();
        await PostOkAsync(Batch(Span(later, "solo", start: Start, end: Start.AddSeconds(1))));
        await fixture.Server.WaitForProjectionAsync();

        var now = await GetAsync($"/api/projects/default/traces/{trace}");
        now["spans"]!.AsArray().Count.ShouldBe(2);

        foreach (var point in new[] { earlier.ToString(System.Globalization.CultureInfo.InvariantCulture), recordedAt })
        {
            var then = await GetAsync($"/api/projects/default/traces/{trace}?asOf={Uri.EscapeDataString(point)}");
            var span = then["spans"]!.AsArray().ShouldHaveSingleItem()!;
            span["spanId"]!.GetValue<string>().ShouldBe("run");
            span["endTime"].ShouldBeNull();
            span["output"].ShouldBeNull();
            span["input"]!.GetValue<string>().ShouldBe("plan");

            var list = await GetAsync($"/api/projects/default/traces?limit=500&asOf={Uri.EscapeDataString(point)}");
            var items = list["items"]!.AsArray();
            items.ShouldNotContain(i => i!["traceId"]!.GetValue<string>() == later);
            var summary = items.Single(i => i!["traceId"]!.GetValue<string>() == trace)!;
            summary["spanCount"]!.GetValue<int>().ShouldBe(1);
            summary["openSpanCount"]!.GetValue<int>().ShouldBe(1);
            summary["errorCount"]!.GetValue<int>().ShouldBe(0);
            summary["status"]!.GetValue<string>().ShouldBe("running");
        }

        // As of now, the log gives what the analytics tables give.
        var present = await GetAsync($"/api/projects/default/traces?limit=500&asOf={await fixture.Server.LogPositionAsync()}");
        var current = await GetAsync("/api/projects/default/traces?limit=500");
        var fromLog = present["items"]!.AsArray().Single(i => i!["traceId"]!.GetValue<string>() == trace)!.AsObject();
        var fromTables = current["items"]!.AsArray().Single(i => i!["traceId"]!.GetValue<string>() == trace)!.AsObject();
        // Decimals keep their scale in JSON (0 against 0.000000000): compared as numbers.
        fromLog["costUsd"]!.GetValue<decimal>().ShouldBe(fromTables["costUsd"]!.GetValue<decimal>());
        fromLog.Remove("costUsd");
        fromTables.Remove("costUsd");
        fromLog.ToJsonString().ShouldBe(fromTables.ToJsonString());
        using var missing = await client.GetAsync(new Uri($"/api/projects/default/traces/{later}?asOf={earlier}", UriKind.Relative));
        missing.StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task then_an_unreadable_point_is_refused_naming_asOf()
    {
        using var response = await client.GetAsync(new Uri("/api/projects/default/traces?asOf=yesterday", UriKind.Relative));
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.Content.ReadAsStringAsync()).ShouldContain("asOf");
    }
}
