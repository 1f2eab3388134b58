using AgentStack.Events;

namespace AgentStack.EventStore.Tests;

/// <summary>
/// A real store seen through a counter: how often each read reached it. <see cref="HoldReadsAll"/> keeps
/// log reads waiting until <see cref="ReleaseReadsAll"/>, so a test can have several in flight at once. With
/// <paramref name="passesCommits"/>, it tells a decorator above what the store's commits stored, as the store would.
/// </summary>
public sealed class CountingEventStore(IEventStore inner, bool passesCommits = false) : IEventStore, ICommittedEventsSource
{
    private TaskCompletionSource? held;
    private int streamReads, versionReads, allReads;

    public int StreamReads => Volatile.Read(ref streamReads);
    public int VersionReads => Volatile.Read(ref versionReads);
    public int AllReads => Volatile.Read(ref allReads);

    public void HoldReadsAll() => held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void ReleaseReadsAll() => held?.TrySetResult();

    public Task<AppendResult> AppendAsync(IReadOnlyList<StreamAppend> appends, CancellationToken cancellationToken) =>
        inner.AppendAsync(appends, cancellationToken);

    public IAsyncEnumerable<StoredEvent> ReadStreamAsync(string stream, long fromVersion, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref streamReads);
        return inner.ReadStreamAsync(stream, fromVersion, cancellationToken);
    }

    public Task<long[]> ReadStreamVersionsAsync(IReadOnlyList<string> streams, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref versionReads);
        return inner.ReadStreamVersionsAsync(streams, cancellationToken);
    }

    public async Task<IReadOnlyList<StoredEvent>> ReadAllAsync(long afterPosition, int maxCount, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref allReads);
        if (held is { } wait)
            await wait.Task.WaitAsync(cancellationToken);
        return await inner.ReadAllAsync(afterPosition, maxCount, cancellationToken);
    }

    public async Task<IReadOnlyList<StoredEvent>> ReadAllAsync(long afterPosition, int maxCount, EventDataScope data,
        CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref allReads);
        if (held is { } wait)
            await wait.Task.WaitAsync(cancellationToken);
        return await inner.ReadAllAsync(afterPosition, maxCount, data, cancellationToken);
    }

    public Task WaitForEventsAfterAsync(long afterPosition, CancellationToken cancellationToken) =>
        inner.WaitForEventsAfterAsync(afterPosition, cancellationToken);

    public Task<long> GetLastPositionAsync(CancellationToken cancellationToken) => inner.GetLastPositionAsync(cancellationToken);

    public void OnCommitted(Action<IReadOnlyList<StoredEvent>> committed)
    {
        if (passesCommits && inner is ICommittedEventsSource source)
            source.OnCommitted(committed);
    }
}
