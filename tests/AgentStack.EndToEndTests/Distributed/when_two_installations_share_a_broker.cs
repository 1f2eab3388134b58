using System.Net;
using AgentStack.Testing;
using static AgentStack.Testing.Spans;

namespace AgentStack.EndToEndTests.Distributed;

/// <summary>
/// Two installations (their own stores, their own queue prefixes) on one RabbitMQ: a command goes to
/// its own installation's queue only. It was once published by message type, so the other
/// installation's handler recorded about half the spans in its own log and answered 200 for them.
/// </summary>
[Collection(RabbitMq.Collection)]
public sealed class when_two_installations_share_a_broker : IAsyncLifetime
{
    private ServerProcess first = null!;
    private ServerProcess second = null!;

    public async ValueTask InitializeAsync()
    {
        first = await ServerProcess.StartAsync(RabbitMq.BusSettings());
        second = await ServerProcess.StartAsync(RabbitMq.BusSettings());
    }

    public async ValueTask DisposeAsync()
    {
        await first.DisposeAsync();
        await second.DisposeAsync();
    }

    [Fact]
    public async Task then_each_records_only_what_it_collected()
    {
        var traces = Enumerable.Range(0, 40).Select(_ => NewId()).ToList();
        var start = DateTimeOffset.UtcNow.AddMinutes(-1);
        foreach (var trace in traces)
        {
            using var response = await first.Client.PostSpansAsync(Batch(Span(trace, "root", start: start, end: start.AddSeconds(1))));
            response.StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        foreach (var trace in traces)
        {
            using var mine = await first.Client.GetAsync(new Uri($"/api/projects/default/traces/{trace}/replay", UriKind.Relative));
            mine.StatusCode.ShouldBe(HttpStatusCode.OK, trace);
            using var theirs = await second.Client.GetAsync(new Uri($"/api/projects/default/traces/{trace}/replay", UriKind.Relative));
            theirs.StatusCode.ShouldBe(HttpStatusCode.NotFound, trace);
        }
    }
}
