using System.Collections.Concurrent;

namespace AgentStack.Projections.Analytics.ChDb;

/// <summary>
/// Connections with a dedicated thread each, fed from one queue. chDB calls block for as long as the
/// statement runs and a connection runs one statement at a time, so on the thread pool every waiting
/// caller would pin a pool thread inside chDB's own lock (and make the pool inject more threads). Here
/// callers await a task and hold no thread; the lane's threads are the only ones inside chDB.
/// </summary>
internal sealed class ChDbLane : IDisposable
{
    private readonly BlockingCollection<WorkItem> _queue = [];
    private readonly Thread[] _threads;

    public ChDbLane(string name, IReadOnlyList<nint> connectionPointers)
    {
        _threads = new Thread[connectionPointers.Count];
        for (var i = 0; i < connectionPointers.Count; i++)
        {
            var connectionPointer = connectionPointers[i];
            _threads[i] = new Thread(() => Work(connectionPointer)) { IsBackground = true, Name = $"chdb-{name}-{i}" };
            _threads[i].Start();
        }
    }

    /// <summary>
    /// Queues <paramref name="work"/>, which receives the <c>chdb_connection</c> handle. Cancellation
    /// applies while the work is queued; once chDB runs it, it runs to the end and its outcome is
    /// reported, so a cancelled caller never wonders whether an insert landed.
    /// </summary>
    public Task<T> RunAsync<T>(Func<nint, T> work, CancellationToken cancellationToken)
    {
        var item = new WorkItem<T>(work, cancellationToken);
        try
        {
            _queue.Add(item, CancellationToken.None);
        }
        catch (InvalidOperationException)
        {
            throw new ObjectDisposedException(nameof(ChDbAnalyticsStore));
        }

        return item.Task;
    }

    /// <summary>Lets queued work finish, then stops the threads. The caller closes the connections afterwards.</summary>
    public void Dispose()
    {
        _queue.CompleteAdding();
        foreach (var thread in _threads)
        {
            thread.Join();
        }

        _queue.Dispose();
    }

    private unsafe void Work(nint connectionPointer)
    {
        // chdb_connect returns chdb_connection*; statements take the chdb_connection it points to.
        var connection = *(nint*)connectionPointer;
        foreach (var item in _queue.GetConsumingEnumerable())
        {
            item.Execute(connection);
        }
    }

    private abstract class WorkItem
    {
        public abstract void Execute(nint connection);
    }

    private sealed class WorkItem<T> : WorkItem
    {
        private const int Queued = 0, Running = 1, Cancelled = 2;

        private readonly Func<nint, T> _work;
        private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly CancellationTokenRegistration _registration;
        private int _state;

        public WorkItem(Func<nint, T> work, CancellationToken cancellationToken)
        {
            _work = work;
            _registration = cancellationToken.Register(() =>
            {
                if (Interlocked.CompareExchange(ref _state, Cancelled, Queued) == Queued)
                {
                    _completion.TrySetCanceled(cancellationToken);
                }
            });
        }

        public Task<T> Task => _completion.Task;

        public override void Execute(nint connection)
        {
            _registration.Dispose();
            if (Interlocked.CompareExchange(ref _state, Running, Queued) != Queued)
            {
                return;
            }

            try
            {
                _completion.SetResult(_work(connection));
            }
#pragma warning disable CA1031 // Every failure belongs to the awaiting caller; the lane thread must survive it.
            catch (Exception e)
#pragma warning restore CA1031
            {
                _completion.SetException(e);
            }
        }
    }
}
