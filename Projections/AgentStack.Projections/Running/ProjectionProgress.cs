using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace AgentStack.Projections.Running;

/// <summary>
/// Each projection's checkpoint as this process knows it, with a way to await a position:
/// readiness checks and tests wait on it instead of sleeping. Positions only move forward: a report
/// older than one already seen (a poll that raced a save) is ignored. A projection's error clears when it
/// moves forward or is caught up (<see cref="ReportCaughtUp"/>), not when a position is reported again: a
/// runner retrying a failed batch reports the checkpoint it starts again from, which would show a projection
/// that keeps failing well between its retries.
/// </summary>
public sealed class ProjectionProgress
{
    private readonly ConcurrentDictionary<string, State> states = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> announced = new(StringComparer.Ordinal);

    /// <summary>The position each projection has reported; one only announced, or only waited for, is not listed yet.</summary>
    public IReadOnlyDictionary<string, long> Positions =>
        states.Where(s => s.Value.Reported).ToDictionary(s => s.Key, s => s.Value.Position);

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

    /// <summary>
    /// A projection this process runs, known from start-up on: its runner loads its checkpoint before it reports, and
    /// a wait asked for in between must wait for it rather than find no such projection.
    /// </summary>
    public void Announce(string projection) => announced.TryAdd(projection, true);

    /// <summary>
    /// The projection a wait names: <paramref name="name"/> itself once announced or reported, or, by its base name,
    /// the one version of a versioned projection (<c>detections@{version}</c>, issue 15.6) this process knows.
    /// </summary>
    public bool TryResolve(string name, [NotNullWhen(true)] out string? projection)
    {
        projection = Knows(name) ? name
            : announced.Keys.Concat(Positions.Keys).Distinct(StringComparer.Ordinal)
                .Where(k => k.StartsWith(name + "@", StringComparison.Ordinal) && !k.Contains('/', StringComparison.Ordinal)).ToList() is [var versioned]
            ? versioned : null;
        return projection is not null;
    }

    /// <summary>Whether <paramref name="projection"/> runs here (announced) or has reported here.</summary>
    public bool Knows(string projection) =>
        announced.ContainsKey(projection) || (states.TryGetValue(projection, out var state) && state.Reported);

    /// <summary>The position <paramref name="projection"/> has reported, 0 before its first report.</summary>
    public long PositionOf(string projection) => states.TryGetValue(projection, out var state) ? state.Position : 0;

    public void Report(string projection, long position)
    {
        var state = states.GetOrAdd(projection, _ => new State());
        lock (state)
        {
            state.Reported = true;
            if (position > state.Position)
            {
                state.Position = position;
                state.LastError = null;
            }
            state.Rate.Add(DateTimeOffset.UtcNow, state.Position);
            var waiters = state.Waiters.Where(w => w.Position <= state.Position).ToList();
            foreach (var w in waiters)
            {
                state.Waiters.Remove(w);
                w.Done.TrySetResult();
            }
        }
    }

    /// <summary>
    /// <paramref name="projection"/> (a part of the log) is no longer applied here: another worker holds it now, and the
    /// position this process saw last would only fall further behind. Not listed, until reported again.
    /// </summary>
    public void Withdraw(string projection)
    {
        if (!states.TryGetValue(projection, out var state))
            return;
        lock (state)
        {
            state.Reported = false;
            state.LastError = null;
        }
    }

    /// <summary>
    /// <paramref name="projection"/> has applied the log to its end and saved its checkpoint: whatever failed has
    /// recovered, though its position may not have moved since the failure (a batch applied again after its checkpoint
    /// could not be saved).
    /// </summary>
    public void ReportCaughtUp(string projection)
    {
        if (!states.TryGetValue(projection, out var state))
            return;
        lock (state)
            state.LastError = null;
    }

    public void ReportError(string projection, string error)
    {
        var state = states.GetOrAdd(projection, _ => new State());
        lock (state)
        {
            state.Reported = true;
            state.LastError = error;
        }
    }

    /// <summary>
    /// Completes when <paramref name="projection"/> has applied everything up to <paramref name="position"/>. A wait that is
    /// cancelled (a timeout) leaves nothing behind: a position past the log's end would otherwise be waited on for good.
    /// </summary>
    public async Task WaitForAsync(string projection, long position, CancellationToken cancellationToken)
    {
        var state = states.GetOrAdd(projection, _ => new State());
        (long Position, TaskCompletionSource Done) waiter;
        lock (state)
        {
            if (state.Position >= position)
                return;
            waiter = (position, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            state.Waiters.Add(waiter);
        }
        try
        {
            await waiter.Done.Task.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            lock (state)
                state.Waiters.Remove(waiter);
            throw;
        }
    }

    /// <summary>The waits on <paramref name="projection"/> not yet completed: a diagnostic.</summary>
    internal int Waiting(string projection)
    {
        if (!states.TryGetValue(projection, out var state))
            return 0;
        lock (state)
            return state.Waiters.Count;
    }

    private sealed class State
    {
        public bool Reported { get; set; }
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
