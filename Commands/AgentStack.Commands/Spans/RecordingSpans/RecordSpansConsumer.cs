using AgentStack.Events;
using MassTransit;

namespace AgentStack.Commands.Spans.RecordingSpans;

/// <summary>RecordSpans over RabbitMQ: the same <see cref="RecordSpansHandler"/> the embedded default calls directly.</summary>
public sealed class RecordSpansConsumer(RecordSpansHandler handler) : IConsumer<RecordSpansOnTheBus>
{
    public async Task Consume(ConsumeContext<RecordSpansOnTheBus> context)
    {
        var reply = await handler.HandleAsync(context.Message.ToCommand(), context.CancellationToken);
        if (reply.Conflicted is { } conflicted)
            await context.RespondAsync(conflicted);
        else
            await context.RespondAsync(reply.Recorded!);
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
