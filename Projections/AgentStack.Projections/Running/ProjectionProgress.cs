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

    /// <summary>How fast <paramref name="projection"/> advanced over the last <see cref="RateSpan"/>, in log positions a second.</summary>
    public double Rate(string projection, DateTimeOffset now)
    {
        if (!states.TryGetValue(projection, out var state))
            return 0;
        lock (state)
            return state.Rate.PerSecond(now);
    }

    public static readonly TimeSpan RateSpan = TimeSpan.FromSeconds(10);

    public void Report(string projection, long position)
    {
        var state = states.GetOrAdd(projection, _ => new State());
        lock (state)
        {
            state.Position = Math.Max(state.Position, position);
            state.LastError = null;
            state.Rate.Add(DateTimeOffset.UtcNow, state.Position);
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
        public RateWindow Rate { get; } = new(RateSpan);
    }
}

/// <summary>Positions seen over a sliding window of time; the rate is their slope. Not thread-safe.</summary>
public sealed class RateWindow(TimeSpan window)
{
    private readonly Queue<(DateTimeOffset At, long Position)> samples = new();

    public void Add(DateTimeOffset at, long position)
    {
        samples.Enqueue((at, position));
        while (samples.Count > 2 && at - samples.Peek().At > window)
            samples.Dequeue();
    }

    /// <summary>0 when fewer than two samples, or when the newest is older than the window (nothing moved lately).</summary>
    public double PerSecond(DateTimeOffset now)
    {
        if (samples.Count < 2)
            return 0;
        var first = samples.Peek();
        var last = samples.Last();
        if (now - last.At > window)
            return 0;
        var seconds = (now - first.At).TotalSeconds;
        return seconds <= 0 ? 0 : (last.Position - first.Position) / seconds;
    }
}
