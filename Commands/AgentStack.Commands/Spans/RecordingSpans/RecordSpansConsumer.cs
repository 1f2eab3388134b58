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
/// that answers nobody, and an unbounded one would hold this delivery, and the endpoint's channel with it, for as long as
/// its publish hangs. Abandoned, the reply is dropped; the spans are already durable, and where the acknowledgement fails
/// with its channel the broker delivers the command again, which records them as duplicates. This bound does not cure the
/// rare endpoint that stays down after a broker outage (docs/distributed.md, "Known limit"): that wait is inside
/// RabbitMQ.Client's own connection shutdown, where no consumer is.
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
