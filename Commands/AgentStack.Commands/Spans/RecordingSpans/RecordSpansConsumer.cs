using AgentStack.Commands.Bus;
using AgentStack.Commands.Spans.Ingesting;
using AgentStack.Events;
using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentStack.Commands.Spans.RecordingSpans;

/// <summary>
/// RecordSpans over RabbitMQ: the same <see cref="RecordSpansHandler"/> the embedded default calls directly.
/// </summary>
/// <remarks>
/// The reply is bounded by <see cref="IngestOptions.CommandTimeout"/>, the collector's own wait: a reply later than
/// that answers nobody. The bound is what lets the endpoint recover from a broker outage. RabbitMQ.Client (7.x)
/// finishes shutting a closed connection's channels down only once every delivery callback has returned, and
/// MassTransit consumes inside that callback; a reply whose publish started on the connection as it closed waits for
/// a confirm that only that shutdown would fail. Unbounded, the consumer never returned, the endpoint never learned
/// its channel was gone, and the queue kept no consumer after the broker came back. Abandoned, the reply is dropped;
/// the spans are already durable, and where the acknowledgement fails with its channel the broker delivers the
/// command again, which records them as duplicates.
/// </remarks>
public sealed class RecordSpansConsumer(RecordSpansHandler handler, IOptions<IngestOptions> options, ILogger<RecordSpansConsumer> logger)
    : IConsumer<RecordSpansOnTheBus>
{
    public async Task Consume(ConsumeContext<RecordSpansOnTheBus> context)
    {
        var reply = await handler.HandleAsync(context.Message.ToCommand(), context.CancellationToken);
        var responding = reply.Conflicted is { } conflicted ? context.RespondAsync(conflicted) : context.RespondAsync(reply.Recorded!);
        try
        {
            await responding.WaitAsync(options.Value.CommandTimeout, context.CancellationToken);
        }
        catch (TimeoutException)
        {
            responding.Abandon();
            logger.LogWarning("The reply to RecordSpans {CommandId} was not sent within {Timeout}; the collector answers " +
                "unavailable, and the spans, already durable, count as duplicates when they are sent or delivered again",
                context.Message.CommandId, options.Value.CommandTimeout);
        }
    }
}

/// <summary>Retries optimistic-concurrency losses at once (the state is simply re-read), a few times.</summary>
public sealed class RecordSpansConsumerDefinition : ConsumerDefinition<RecordSpansConsumer>
{
    public RecordSpansConsumerDefinition()
    {
        // Enough parallel handlers for the store's group commit to batch many requests per fsync.
        ConcurrentMessageLimit = 256;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<RecordSpansConsumer> consumerConfigurator, IRegistrationContext context)
    {
        // Commands arrive by send to this queue only (CommandsRegistration.AddRecordSpans): not bound to
        // the message type's exchange, which every installation on the broker shares.
        endpointConfigurator.ConfigureConsumeTopology = false;
        // An unavailable store (database restarting) is retried with backoff, within the collector's wait.
        endpointConfigurator.UseMessageRetry(r => r
            .Exponential(6, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(200))
            .Handle<EventStoreUnavailableException>());
        endpointConfigurator.UseMessageRetry(r => r.Immediate(5).Handle<WrongExpectedVersionException>());
        // One batch per trace at a time in this process: concurrent batches of one trace would only
        // race on the expected version and retry.
        var partitioner = endpointConfigurator.CreatePartitioner(64);
        consumerConfigurator.Message<RecordSpansOnTheBus>(m => m.UsePartitioner(partitioner, c => c.Message.PartitionKey));
    }
}
