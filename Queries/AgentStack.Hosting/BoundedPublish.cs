using MassTransit;

namespace AgentStack.Hosting;

/// <summary>
/// Publishes a notice on the bus without letting a broker that is away stall the caller: the publish is bounded
/// in time (MassTransit's publish does not observe cancellation while the broker is away, as SpanIngestion notes) and
/// its failure is returned for the caller to log, never thrown.
/// </summary>
internal static class BoundedPublish
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <summary>Null when published; otherwise why not. Cancellation by <paramref name="cancellationToken"/> still throws.</summary>
    public static async Task<Exception?> TryPublishAsync<T>(this IBus bus, T message, CancellationToken cancellationToken)
        where T : class
    {
        try
        {
            await bus.Publish(message, cancellationToken).WaitAsync(Timeout, cancellationToken);
            return null;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return e;
        }
    }
}
