using AgentStack.Events;

namespace AgentStack.Projections.Running;

/// <summary>Tells the rest of the system that a projection advanced (the bus, where a host has one).</summary>
public interface IProjectionNotifier
{
    /// <summary>Must not fail the projection: the saved checkpoints are the truth, the notice only a convenience.</summary>
    Task AdvancedAsync(ProjectionAdvanced advanced, CancellationToken cancellationToken);
}

/// <summary>For hosts without a bus.</summary>
public sealed class NoProjectionNotifier : IProjectionNotifier
{
    public Task AdvancedAsync(ProjectionAdvanced advanced, CancellationToken cancellationToken) => Task.CompletedTask;
}
