using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AgentStack.Testing;
using static AgentStack.Testing.Spans;

namespace AgentStack.EndToEndTests.Distributed;

public sealed class RabbitMqServer : IAsyncLifetime
{
    public ServerProcess Server { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Server = await ServerProcess.StartAsync(RabbitMq.BusSettings());

    public async ValueTask DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>The same ingestion contract with RecordSpans carried by a real RabbitMQ broker.</summary>
[Collection(RabbitMq.Collection)]
public sealed class when_commands_travel_over_rabbitmq(RabbitMqServer fixture) : IClassFixture<RabbitMqServer>
{
    [Fact]
    public async Task then_spans_are_recorded_deduplicated_and_replayed()
    {
        var client = fixture.Server.Client;
        var trace = NewId();
        var start = DateTimeOffset.UtcNow.AddMinutes(-3);
        var body = Batch(Span(trace, "root", kind: "agent", start: start, end: start.AddSeconds(2), input: "{\"q\": \"exact  bytes\"}"),
            Span(trace, "llm", parent: "root", start: start, end: start.AddSeconds(1)));

        using (var first = await client.PostSpansAsync(body))
        {
            first.StatusCode.ShouldBe(HttpStatusCode.OK, await first.Content.ReadAsStringAsync());
            (await first.Content.ReadFromJsonAsync<JsonObject>())!["accepted"]!.GetValue<int>().ShouldBe(2);
        }
        using (var again = await client.PostSpansAsync(body))
            (await again.Content.ReadFromJsonAsync<JsonObject>())!["duplicates"]!.GetValue<int>().ShouldBe(2);
        using (var conflict = await client.PostSpansAsync(Batch(Span(trace, "llm", parent: "root", start: start, end: start.AddSeconds(9)))))
            conflict.StatusCode.ShouldBe(HttpStatusCode.Conflict);

        var replay = await client.GetStringAsync(new Uri($"/api/projects/default/traces/{trace}/replay", UriKind.Relative));
        replay.ShouldContain("\"input\":{\"q\": \"exact  bytes\"}");
        replay.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length.ShouldBe(2);
        await fixture.Server.WaitForProjectionAsync();
        var detail = await client.GetFromJsonAsync<JsonObject>(new Uri($"/api/projects/default/traces/{trace}", UriKind.Relative));
        detail!["spans"]!.AsArray().Count.ShouldBe(2);
    }
}
