using System.Collections.Concurrent;

namespace AgentStack.Projections.Running;

/// <summary>
/// Operators' hold on the projections of this process (issue 14.6): pause and resume, and the short
/// hold a rebuild takes to switch tables. Runners enter a projection before each batch and leave once it is
/// applied and reported (its checkpoint saved when due), so a pause or a hold takes effect between batches,
/// never inside one.
/// Pauses are kept in memory: a restarted process runs every projection.
/// </summary>
public sealed class ProjectionControl
{
    private readonly ConcurrentDictionary<string, Gate> gates = new(StringComparer.Ordinal);

    public bool IsPaused(string projection) => gates.TryGetValue(projection, out var gate) && gate.Paused;

    /// <summary>Stops <paramref name="projection"/> (its runner and any rebuild) after the batch under way.</summary>
    public void Pause(string projection)
    {
        var gate = Of(projection);
        lock (gate)
        {
            if (!gate.Paused)
            {
                gate.Paused = true;
                gate.Resumed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    public void Resume(string projection)
    {
        var gate = Of(projection);
        lock (gate)
        {
            gate.Paused = false;
            gate.Resumed.TrySetResult();
        }
    }

    /// <summary>Waits while <paramref name="projection"/> is paused.</summary>
    public async Task WaitUntilRunningAsync(string projection, CancellationToken cancellationToken)
    {
        var gate = Of(projection);
        while (true)
        {
            Task resumed;
            lock (gate)
            {
                if (!gate.Paused)
                    return;
                resumed = gate.Resumed.Task;
            }
            await resumed.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Enters one batch of the live runner: waits while paused or held; dispose after the checkpoint is saved.</summary>
    public async Task<IDisposable> EnterBatchAsync(string projection, CancellationToken cancellationToken)
    {
        var gate = Of(projection);
        while (true)
        {
            await WaitUntilRunningAsync(projection, cancellationToken);
            await gate.Batch.WaitAsync(cancellationToken);
            if (!gate.Paused)
                return new Release(gate.Batch);
            gate.Batch.Release();
        }
    }

    /// <summary>Waits for the live runner's batch under way to finish, then keeps it from starting another until disposed.</summary>
    public async Task<IDisposable> HoldAsync(string projection, CancellationToken cancellationToken)
    {
        var gate = Of(projection);
        await gate.Batch.WaitAsync(cancellationToken);
        return new Release(gate.Batch);
    }

    private Gate Of(string projection) => gates.GetOrAdd(projection, _ => new Gate());

    private sealed class Gate
    {
        public SemaphoreSlim Batch { get; } = new(1, 1);
        public bool Paused { get; set; }
        public TaskCompletionSource Resumed { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class Release(SemaphoreSlim semaphore) : IDisposable
    {
        private int released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref released, 1) == 0)
                semaphore.Release();
        }
    }
}
