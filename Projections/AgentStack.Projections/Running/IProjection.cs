using AgentStack.Events;

namespace AgentStack.Projections.Running;

/// <summary>
/// A read model built from the whole event log. <see cref="ApplyAsync"/> must be idempotent:
/// after a crash the runner hands it the batch after the last saved checkpoint again, and a worker
/// that lost its lease may apply a batch that its successor applies too.
/// </summary>
public interface IProjection
{
    string Name { get; }

    /// <summary>
    /// The events whose data <see cref="ApplyAsync"/> reads. A projection that reads no span's data (findings,
    /// alerts) says <see cref="EventDataScope.AllButSpans"/>: its batches still hold every event, in order, but the
    /// spans may come without their data, which the store then neither reads nor decrypts.
    /// </summary>
    EventDataScope Reads => EventDataScope.All;

    Task ApplyAsync(IReadOnlyList<StoredEvent> batch, CancellationToken cancellationToken);

    /// <summary>
    /// How long the runner waits before reading the next batch, after one whose reads of the log and apply took
    /// <paramref name="work"/> (waits for new events left out; none by default; at least the linger's remainder in any
    /// case): a projection on a CPU budget rests here rather than in <see cref="ApplyAsync"/>, so the batch it is done
    /// with is not held while it rests.
    /// </summary>
    TimeSpan RestAfter(TimeSpan work) => TimeSpan.Zero;
}

/// <summary>Where projections keep their checkpoints (the last global position fully applied), by name.</summary>
public interface ICheckpointStore
{
    /// <summary>The saved position of each name; 0 for a name never saved.</summary>
    Task<IReadOnlyDictionary<string, long>> LoadAsync(IReadOnlyCollection<string> names, CancellationToken cancellationToken);

    /// <summary>Saves several checkpoints in one write. A position lower than the saved one never wins.</summary>
    Task SaveAsync(IReadOnlyDictionary<string, long> checkpoints, CancellationToken cancellationToken);
}
