using AgentStack.Events;

namespace AgentStack.Projections.Running;

/// <summary>
/// A read model built from the whole event log. <see cref="ApplyAsync"/> must be idempotent:
/// after a crash the runner hands it the batch after the last saved checkpoint again.
/// </summary>
public interface IProjection
{
    string Name { get; }

    Task ApplyAsync(IReadOnlyList<StoredEvent> batch, CancellationToken cancellationToken);
}

/// <summary>Where projections keep their checkpoints (the last global position fully applied).</summary>
public interface ICheckpointStore
{
    Task<long> LoadAsync(string projection, CancellationToken cancellationToken);

    Task SaveAsync(string projection, long position, CancellationToken cancellationToken);
}
