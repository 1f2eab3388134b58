using System.Text.Json.Nodes;
using AgentStack.Testing;
using RabbitMQ.Client;
using static AgentStack.Testing.Spans;

namespace AgentStack.EndToEndTests.Distributed;

/// <summary>
/// Issue 4: integration events go out on the bus. Another service subscribes to the message type's
/// exchange (as MassTransit names it) with a queue of its own, and sees the projection's progress.
/// </summary>
[Collection(RabbitMq.Collection)]
public sealed class when_a_projection_advances : IAsyncLifetime
{
    private const string Exchange = "AgentStack.Events:ProjectionAdvanced";
    private ServerProcess server = null!;
    private IConnection connection = null!;
    private IChannel channel = null!;
    private string queue = null!;

    public async ValueTask InitializeAsync()
    {
        connection = await new ConnectionFactory { Uri = new Uri(RabbitMq.ConnectionString) }.CreateConnectionAsync();
        channel = await connection.CreateChannelAsync();
        // Declared as MassTransit declares a message type's exchange, so either side may come first.
        await channel.ExchangeDeclareAsync(Exchange, ExchangeType.Fanout, durable: true, autoDelete: false);
        queue = (await channel.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true)).QueueName;
        await channel.QueueBindAsync(queue, Exchange, "");
        server = await ServerProcess.StartAsync(RabbitMq.BusSettings());
    }

    public async ValueTask DisposeAsync()
    {
        await server.DisposeAsync();
        await channel.DisposeAsync();
        await connection.DisposeAsync();
    }

    [Fact]
    public async Task then_a_subscriber_sees_it_reach_the_log_position_on_the_bus()
    {
        var start = DateTimeOffset.UtcNow.AddMinutes(-1);
        using (var response = await server.Client.PostSpansAsync(Batch(Span(NewId(), "root", start: start, end: start.AddSeconds(1)))))
            response.EnsureSuccessStatusCode();
        var logPosition = await server.LogPositionAsync();

        JsonNode? reached = null;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (reached is null && DateTime.UtcNow < deadline)
        {
            var delivery = await channel.BasicGetAsync(queue, autoAck: true);
            if (delivery is null)
            {
                await Task.Delay(50);
                continue;
            }
            var message = JsonNode.Parse(delivery.Body.Span)!["message"]!;
            // Every projection (analytics, security findings, detections, anomalies, alerts) publishes its own progress.
            if (message["position"]!.GetValue<long>() >= logPosition && message["projection"]!.GetValue<string>() == "analytics")
                reached = message;
        }

        reached.ShouldNotBeNull($"no ProjectionAdvanced at position {logPosition} within 60 s:\n{server.Output}");
        reached["projection"]!.GetValue<string>().ShouldBe("analytics");
        reached["parts"]!.AsArray().Select(p => p!.GetValue<int>()).ShouldBe([0]);
        reached["partitions"]!.GetValue<int>().ShouldBe(1);
    }
}
