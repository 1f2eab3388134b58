using AgentStack.Events;
using AgentStack.Projections.Running;
using AgentStack.Testing;
using Microsoft.Extensions.Logging;

namespace AgentStack.Projections.Tests.Running;

/// <summary>
/// A projection whose store is away for a moment (an apply that throws, as an insert into a ClickHouse that is
/// restarting does, or a checkpoint that cannot be saved) is retried from its checkpoint, and once it applies again
/// nothing of the failure is left: no error on what <c>GET /api/projections</c> lists, and the next failure, however
/// late, is retried as soon as the first. A real SQLite log of 10 events read 2 at a time; the runner's own log says
/// how long each retry waits.
/// </summary>
public sealed class when_a_projection_fails_for_a_moment() : WithRunnerTestLog(10)
{
    [Fact]
    public async Task then_with_several_parts_the_status_lists_the_parts_caught_up_without_an_error()
    {
        var progress = new ProjectionProgress();
        var projection = new Flaky(failing: [1]);
        var last = await Log.Store.GetLastPositionAsync(Ct);
        await RunUntilAsync(projection, progress, new RetryLog(), new ProjectionOptions { Partitions = 2, BatchSize = 2, Linger = TimeSpan.Zero },
            () => Task.WhenAll(progress.WaitForAsync("flaky/0-of-2", last, Ct), progress.WaitForAsync("flaky/1-of-2", last, Ct)));

        projection.Failures.ShouldBe(1);
        // Before, the failure was reported under the projection's own name, which no part reported to: the status then
        // listed "flaky" at position 0, the whole log behind, with the error, for good.
        progress.Positions.Keys.Order().ShouldBe(["flaky", "flaky/0-of-2", "flaky/1-of-2"]);
        progress.Positions.Values.ShouldAllBe(p => p == last);
        progress.Errors.Values.ShouldAllBe(e => e == null);
    }

    [Fact]
    public async Task then_a_failure_after_batches_were_applied_again_is_retried_after_the_first_delay()
    {
        var progress = new ProjectionProgress();
        var log = new RetryLog();
        // The first apply fails; after the retry, two batches apply and the fourth apply fails.
        var projection = new Flaky(failing: [1, 4]);
        var last = await Log.Store.GetLastPositionAsync(Ct);
        await RunUntilAsync(projection, progress, log, new ProjectionOptions { BatchSize = 2, Linger = TimeSpan.Zero },
            () => progress.WaitForAsync("flaky", last, Ct));

        projection.Failures.ShouldBe(2);
        // Before, the delay doubled with every failure of the process's life: isolated failures hours apart each
        // waited longer, up to 30 s, than the one before.
        log.Delays.ShouldBe([TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(200)]);
    }

    [Fact]
    public async Task then_a_checkpoint_it_could_not_save_once_caught_up_is_saved_on_the_retry_and_the_error_clears()
    {
        var progress = new ProjectionProgress();
        var log = new RetryLog();
        var checkpoints = new SavedOnSecondTry();
        var last = await Log.Store.GetLastPositionAsync(Ct);
        // Saved only once caught up: the retry applies the batches again, up to the position reported before the failure.
        await RunUntilAsync(new Flaky(failing: []), progress, log,
            new ProjectionOptions { BatchSize = 2, Linger = TimeSpan.Zero, CheckpointInterval = TimeSpan.FromHours(1) },
            async () =>
            {
                await checkpoints.Saved.Task;
                await Eventually.UntilAsync(() => progress.Errors.Values.All(e => e == null), TimeSpan.FromSeconds(20),
                    () => $"the checkpoint is saved and the log caught up, yet the status lists the error: {string.Join(", ", progress.Errors)}");
            },
            checkpoints);

        log.Delays.ShouldBe([TimeSpan.FromMilliseconds(200)]);
        progress.Positions["flaky"].ShouldBe(last);
    }

    private async Task RunUntilAsync(Flaky projection, ProjectionProgress progress, RetryLog log, ProjectionOptions options, Func<Task> caughtUp,
        ICheckpointStore? checkpoints = null)
    {
        using var runner = new ProjectionRunner(projection, Log.Store, checkpoints ?? new MemoryCheckpoints(), new SoleWorkerLeases(), progress,
            new NoProjectionNotifier(), TimeProvider.System, log, options, new ProjectionControl());
        await runner.StartAsync(Ct);
        try
        {
            await caughtUp().WaitAsync(TimeSpan.FromSeconds(30), Ct);
        }
        finally
        {
            await runner.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>Throws on the applies numbered in <paramref name="failing"/> (from 1), as a store that is away does.</summary>
    private sealed class Flaky(int[] failing) : IProjection
    {
        private int applies;

        public string Name => "flaky";

        public int Failures { get; private set; }

        public Task ApplyAsync(IReadOnlyList<StoredEvent> batch, CancellationToken cancellationToken)
        {
            if (!failing.Contains(++applies))
                return Task.CompletedTask;
            Failures++;
            throw new InvalidOperationException("the analytics store is away");
        }
    }

    /// <summary>Checkpoints whose first save throws, as a store that is away for a moment does.</summary>
    private sealed class SavedOnSecondTry : ICheckpointStore
    {
        private readonly MemoryCheckpoints saved = new();
        private int saves;

        /// <summary>Completes when a save has succeeded.</summary>
        public TaskCompletionSource Saved { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<IReadOnlyDictionary<string, long>> LoadAsync(IReadOnlyCollection<string> names, CancellationToken cancellationToken) =>
            saved.LoadAsync(names, cancellationToken);

        public async Task SaveAsync(IReadOnlyDictionary<string, long> checkpoints, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref saves) == 1)
                throw new InvalidOperationException("the checkpoint store is away");
            await saved.SaveAsync(checkpoints, cancellationToken);
            Saved.TrySetResult();
        }
    }

    /// <summary>The runner's log: the delay each failure is retried after.</summary>
    private sealed class RetryLog : ILogger<ProjectionRunner>
    {
        private readonly List<TimeSpan> delays = [];

        public IReadOnlyList<TimeSpan> Delays
        {
            get
            {
                lock (delays)
                    return [.. delays];
            }
        }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (state is IReadOnlyList<KeyValuePair<string, object?>> values && values.FirstOrDefault(v => v.Key == "Delay").Value is TimeSpan delay)
                lock (delays)
                    delays.Add(delay);
        }
    }
}
