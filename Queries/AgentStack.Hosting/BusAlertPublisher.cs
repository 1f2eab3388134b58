using AgentStack.Anomalies.Alerting;
using AgentStack.Events.Anomalies;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace AgentStack.Hosting;

/// <summary>
/// Publishes <see cref="AlertRaised"/> on the bus (issue 15, point 7). A broker that is away must not stall the
/// alert dispatcher: the publish is bounded in time and dropped with a warning (the webhook, if any, is still tried).
/// </summary>
public sealed partial class BusAlertPublisher(IBus bus, ILogger<BusAlertPublisher> logger) : IAlertPublisher
{
    public async Task PublishAsync(AlertRaised alert, CancellationToken cancellationToken)
    {
        if (await bus.TryPublishAsync(alert, cancellationToken) is { } failure)
            LogNotPublished(logger, failure, alert.AlertId, alert.Project);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not publish alert {AlertId} of project {Project} on the bus")]
    private static partial void LogNotPublished(ILogger logger, Exception e, string alertId, string project);
}
