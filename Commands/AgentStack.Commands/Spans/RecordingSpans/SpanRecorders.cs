using AgentStack.Commands.Bus;
using AgentStack.Events;
using MassTransit;

namespace AgentStack.Commands.Spans.RecordingSpans;

/// <summary>
/// How the collector gets a <see cref="RecordSpans"/> command handled: in this process (embedded default) or over
/// the bus (distributed). Either way <see cref="RecordSpansHandler"/> decides and appends; the task completes once
/// the events are durable, or throws when they cannot be made durable.
/// </summary>
public interface ISpanRecorder
{
    Task<RecordSpansReply> RecordAsync(RecordSpans command, CancellationToken ct);
}

/// <summary>
/// The embedded default (issue 13): the command stays in the process, so it is handed to the handler directly
/// instead of being serialised onto the in-memory bus and parsed back. What the bus gave, it keeps: one batch per
/// trace partition at a time (as MassTransit's partitioner), immediate retries of expected-version losses, and
/// retries with backoff while the store is unavailable (the collector bounds the whole wait).
/// </summary>
public sealed class InProcessSpanRecorder(RecordSpansHandler handler) : ISpanRecorder
{
    private const int Partitions = 64;
    private readonly SemaphoreSlim[] partitions = Enumerable.Range(0, Partitions).Select(_ => new SemaphoreSlim(1, 1)).ToArray();

    public async Task<RecordSpansReply> RecordAsync(RecordSpans command, CancellationToken ct)
    {
        var partition = partitions[(uint)StringComparer.Ordinal.GetHashCode(command.PartitionKey) % Partitions];
        await partition.WaitAsync(ct);
        try
        {
            var versionLosses = 0;
            var unavailable = 0;
            while (true)
            {
                try
                {
                    return await handler.HandleAsync(command, ct);
                }
                catch (WrongExpectedVersionException) when (versionLosses++ < 5)
                {
                    // another process appended to the stream: the handler re-reads it
                }
                catch (EventStoreUnavailableException) when (unavailable < 6)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5000, 100 * Math.Pow(2, unavailable++))), ct);
                }
            }
        }
        finally
        {
            partition.Release();
        }
    }
}

/// <summary>The distributed topology: the command goes to this installation's queue; a consumer anywhere answers.</summary>
/// <remarks>
/// The caller's token bounds the caller's wait, never the request: cancelling the request cancels its send's broker
/// operations (topology declarations, the publish) mid-flight, which RabbitMQ.Client may not recover a channel from.
/// The request ends by itself after <see cref="Ingesting.IngestOptions.CommandTimeout"/> once sent.
/// </remarks>
public sealed class BusSpanRecorder(IRequestClient<RecordSpansOnTheBus> client, Microsoft.Extensions.Options.IOptions<Ingesting.IngestOptions> options) : ISpanRecorder
{
    public async Task<RecordSpansReply> RecordAsync(RecordSpans command, CancellationToken ct)
    {
        var request = client.GetResponse<SpansRecorded, SpansConflicted>(RecordSpansOnTheBus.From(command), CancellationToken.None,
            RequestTimeout.After(ms: (int)options.Value.CommandTimeout.TotalMilliseconds));
        Response<SpansRecorded, SpansConflicted> response;
        try
        {
            response = await request.WaitAsync(ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            request.Abandon();
            throw;
        }
        return response.Is(out Response<SpansRecorded>? recorded)
            ? new RecordSpansReply(recorded.Message, null)
            : response.Is(out Response<SpansConflicted>? conflicted)
                ? new RecordSpansReply(null, conflicted.Message)
                : throw new InvalidOperationException("RecordSpans got an unexpected reply.");
    }
}
