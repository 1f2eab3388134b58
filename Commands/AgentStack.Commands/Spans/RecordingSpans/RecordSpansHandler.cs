using System.Diagnostics.Metrics;
using AgentStack.Events;
using MassTransit;

namespace AgentStack.Commands.Spans.RecordingSpans;

/// <summary>
/// Loads each touched trace's state from its stream, runs <see cref="TraceDecider"/>, and appends
/// every stream's new events in one atomic, durable append with expected versions. A concurrent
/// writer to the same stream makes the append fail with <see cref="WrongExpectedVersionException"/>;
/// the consumer definition retries, which re-reads and re-decides.
/// </summary>
public sealed class RecordSpansHandler(IEventStore store, IngestMetrics metrics) : IConsumer<RecordSpans>
{
    public async Task Consume(ConsumeContext<RecordSpans> context)
    {
        var command = context.Message;
        var ct = context.CancellationToken;
        var appends = new List<StreamAppend>();
        var conflicts = new List<SpanConflict>();
        var accepted = 0;
        var duplicates = 0;

        foreach (var trace in command.Spans.GroupBy(s => s.TraceId, StringComparer.Ordinal))
        {
            var stream = TraceStream.Name(command.Project, trace.Key);
            var (state, version) = await LoadAsync(stream, ct);
            var decision = TraceDecider.Decide(state, command.Project, command.ReceivedBy, command.ReceivedAt, trace);
            conflicts.AddRange(decision.Conflicts);
            duplicates += decision.Duplicates;
            accepted += decision.Events.Count;
            if (decision.Events.Count > 0)
                appends.Add(new StreamAppend(stream, version, decision.Events.Select(EventTypes.Serialize).ToList()));
        }

        if (conflicts.Count > 0)
        {
            metrics.Conflicts.Add(conflicts.Count);
            await context.RespondAsync(new SpansConflicted(command.CommandId, conflicts));
            return;
        }

        if (appends.Count > 0)
            await store.AppendAsync(appends, ct);
        metrics.Accepted.Add(accepted);
        metrics.Duplicates.Add(duplicates);
        await context.RespondAsync(new SpansRecorded(command.CommandId, accepted, duplicates));
    }

    private async Task<(TraceState State, long Version)> LoadAsync(string stream, CancellationToken ct)
    {
        var state = TraceState.Initial;
        long version = StreamAppend.NoStream;
        await foreach (var e in store.ReadStreamAsync(stream, 1, ct))
        {
            if (EventTypes.Deserialize(e.Type, e.Data) is { } @event)
                state = TraceDecider.Evolve(state, @event);
            version = e.Version;
        }
        return (state, version);
    }
}

/// <summary>Retries optimistic-concurrency losses at once (the state is simply re-read), a few times.</summary>
public sealed class RecordSpansHandlerDefinition : ConsumerDefinition<RecordSpansHandler>
{
    public RecordSpansHandlerDefinition()
    {
        // Enough parallel handlers for the store's group commit to batch many requests per fsync.
        ConcurrentMessageLimit = 256;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<RecordSpansHandler> consumerConfigurator, IRegistrationContext context)
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
        consumerConfigurator.Message<RecordSpans>(m => m.UsePartitioner(partitioner, c => c.Message.PartitionKey));
    }
}

/// <summary>Ingestion counters for our own OpenTelemetry metrics.</summary>
public sealed class IngestMetrics
{
    public const string MeterName = "AgentStack.Ingest";

    public IngestMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        Accepted = meter.CreateCounter<long>("agentstack.spans.accepted", "{span}", "Spans that produced events");
        Duplicates = meter.CreateCounter<long>("agentstack.spans.duplicates", "{span}", "Re-sent spans that added nothing");
        Conflicts = meter.CreateCounter<long>("agentstack.spans.conflicts", "{span}", "Re-sent spans refused for conflicting content");
        Rejected = meter.CreateCounter<long>("agentstack.batches.rejected", "{batch}", "Batches refused by validation");
    }

    public Counter<long> Accepted { get; }
    public Counter<long> Duplicates { get; }
    public Counter<long> Conflicts { get; }
    public Counter<long> Rejected { get; }
}
