using AgentStack.Anomalies.Alerting;
using AgentStack.Events.Anomalies;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace AgentStack.Hosting;

/// <summary>
/// Publishes <see cref="AlertRaised"/> on the bus (issue 15, point 7). Like <see cref="BusProjectionNotifier"/>,
/// a broker that is away must not stall the alert dispatcher: the publish is bounded in time and dropped
/// with a warning (the webhook, if any, is still tried).
/// </summary>
public sealed partial class BusAlertPublisher(IBus bus, ILogger<BusAlertPublisher> logger) : IAlertPublisher
{
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromSeconds(5);

    public async Task PublishAsync(AlertRaised alert, CancellationToken cancellationToken)
    {
        try
        {
            await bus.Publish(alert, cancellationToken).WaitAsync(PublishTimeout, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogNotPublished(logger, e, alert.AlertId, alert.Project);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not publish alert {AlertId} of project {Project} on the bus")]
    private static partial void LogNotPublished(ILogger logger, Exception e, string alertId, string project);
}
