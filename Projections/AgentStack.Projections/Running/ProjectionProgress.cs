using System.Collections.Concurrent;

namespace AgentStack.Projections.Running;

/// <summary>
/// Each projection's checkpoint as this process knows it, with a way to await a position:
/// readiness checks and tests wait on it instead of sleeping. Positions only move forward: a report
/// older than one already seen (a poll that raced a save) is ignored.
/// </summary>
public sealed class ProjectionProgress
{
    private readonly ConcurrentDictionary<string, State> states = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, long> Positions => states.ToDictionary(s => s.Key, s => s.Value.Position);

    public IReadOnlyDictionary<string, string?> Errors => states.ToDictionary(s => s.Key, s => s.Value.LastError);

    public void Report(string projection, long position)
    {
        var state = states.GetOrAdd(projection, _ => new State());
        lock (state)
        {
            state.Position = Math.Max(state.Position, position);
            state.LastError = null;
            var waiters = state.Waiters.Where(w => w.Position <= state.Position).ToList();
            foreach (var w in waiters)
            {
                state.Waiters.Remove(w);
                w.Done.TrySetResult();
            }
        }
    }

    public void ReportError(string projection, string error)
    {
        var state = states.GetOrAdd(projection, _ => new State());
        lock (state)
            state.LastError = error;
    }

    /// <summary>Completes when <paramref name="projection"/> has applied everything up to <paramref name="position"/>.</summary>
    public Task WaitForAsync(string projection, long position, CancellationToken cancellationToken)
    {
        var state = states.GetOrAdd(projection, _ => new State());
        lock (state)
        {
            if (state.Position >= position)
                return Task.CompletedTask;
            var waiter = (position, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            state.Waiters.Add(waiter);
            return waiter.Item2.Task.WaitAsync(cancellationToken);
        }
    }

    private sealed class State
    {
        public long Position { get; set; }
        public string? LastError { get; set; }
        public List<(long Position, TaskCompletionSource Done)> Waiters { get; } = [];
    }
}
