using System.Collections.Concurrent;
using AgentStack.EventStore.Common;

namespace AgentStack.Projections.Running;

/// <summary>
/// Runs projection runners on a few threads of their own at another CPU priority than the process's (a Linux nice value
/// that many steps from the process's). The runners other than the analytics tables' run below it, so that when the
/// cores are full, ingestion comes first and they take what is left (docs/projections.md, "Ingestion first"); the
/// analytics runner runs above it, level with the event store's writer, so the tables the dashboard reads keep up with
/// what the writer commits. An idle core still runs them all at full speed: nice weighs the shares of a contended CPU,
/// it does not cap anyone. A runner's awaits come back here (its code never uses <c>ConfigureAwait(false)</c>), so all
/// of its own work runs at that priority; what it hands to others (the event store's group commit, chDB's own threads)
/// keeps theirs.
/// </summary>
public sealed class PriorityScheduler : TaskScheduler, IDisposable
{
    private readonly BlockingCollection<Task> queue = [];
    private readonly Thread[] threads;

    /// <param name="threads">How many threads; runners that block (a synchronous read, a native insert) hold one.</param>
    /// <param name="nice">
    /// How many nice steps from the process's priority the threads run, -20 to 19 but not 0: positive is lower (needs no
    /// privilege), negative higher (needs CAP_SYS_NICE or a RLIMIT_NICE that allows it; refused, the threads run at
    /// the process's priority and say so on standard error).
    /// </param>
    /// <param name="name">The threads' name, numbered: <c>projections-0</c>.</param>
    public PriorityScheduler(int threads, int nice, string name = "projections")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(nice, -20);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(nice, 19);
        ArgumentOutOfRangeException.ThrowIfZero(nice);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Nice = nice;
        this.threads = new Thread[threads];
        for (var i = 0; i < threads; i++)
        {
            this.threads[i] = new Thread(Work) { IsBackground = true, Name = $"{name}-{i}" };
            this.threads[i].Start();
        }
    }

    public int Nice { get; }

    public override int MaximumConcurrencyLevel => threads.Length;

    private void Work()
    {
        // Elsewhere than Linux the threads keep the process's priority and only the separation remains.
        ThreadNice.SetFromProcess(Nice);
        foreach (var task in queue.GetConsumingEnumerable())
            TryExecuteTask(task);
    }

    protected override void QueueTask(Task task)
    {
        try
        {
            queue.Add(task);
        }
        catch (InvalidOperationException)
        {
            // Disposed while the host stops: what a runner still has to do (its last awaits) finishes on the pool.
            ThreadPool.UnsafeQueueUserWorkItem(_ => TryExecuteTask(task), null);
        }
    }

    /// <summary>Inline only on one of these threads, so nothing of a runner ever runs at the caller's priority.</summary>
    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) =>
        Array.IndexOf(threads, Thread.CurrentThread) >= 0 && TryExecuteTask(task);

    protected override IEnumerable<Task> GetScheduledTasks() => queue.ToArray();

    /// <summary>Runs <paramref name="work"/> here: its awaits come back to these threads.</summary>
    public Task Run(Func<Task> work, CancellationToken cancellationToken) =>
        Task.Factory.StartNew(work, cancellationToken, TaskCreationOptions.DenyChildAttach, this).Unwrap();

    public void Dispose() => queue.CompleteAdding();
}

/// <summary>Which threads a projection runner runs on, each at its priority (<see cref="PriorityScheduler"/>).</summary>
public enum RunnerThreads
{
    /// <summary>Below the process's priority (<see cref="ProjectionOptions.Nice"/>): ingestion first.</summary>
    Background,

    /// <summary>Above it, level with the event store's writer (<see cref="ProjectionOptions.AnalyticsPriority"/>): the analytics tables' runner.</summary>
    Analytics,
}
