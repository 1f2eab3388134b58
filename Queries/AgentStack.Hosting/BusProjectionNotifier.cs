using AgentStack.Events;
using AgentStack.Projections.Running;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace AgentStack.Hosting;

/// <summary>
/// Publishes <see cref="ProjectionAdvanced"/> on the bus (issue 4: integration events go out on the bus).
/// A publish is fanned out by message type to whoever subscribes. A broker that is away must not stall
/// the projection: the notice is bounded in time and dropped with a warning.
/// </summary>
public sealed partial class BusProjectionNotifier(IBus bus, ILogger<BusProjectionNotifier> logger) : IProjectionNotifier
{
    public async Task AdvancedAsync(ProjectionAdvanced advanced, CancellationToken cancellationToken)
    {
        if (await bus.TryPublishAsync(advanced, cancellationToken) is { } failure)
            LogNotPublished(logger, failure, advanced.Projection, advanced.Position);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not publish that projection {Projection} reached {Position}; its checkpoints are saved")]
    private static partial void LogNotPublished(ILogger logger, Exception e, string projection, long position);
}
