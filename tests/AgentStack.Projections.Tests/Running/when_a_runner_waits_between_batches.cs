using System.Runtime.CompilerServices;
using AgentStack.Events;
using AgentStack.Projections.Running;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentStack.Projections.Tests.Running;

/// <summary>
/// Issue 13: a runner does not hold the batch it is done with while it waits before the next (the linger, or a
/// projection's rest on a CPU budget): the events and their data would otherwise outlive the collections during the
/// wait and be copied by each (BENCHMARKS.md, "Twentieth sitting"). A real SQLite log; the projection rests 60 s.
/// A projection on a CPU budget counts the batch's reads in the work it rests after (the detectors, issue 15).
/// </summary>
public sealed class when_a_runner_waits_between_batches() : WithRunnerTestLog(20)
{
    [Fact]
    public async Task then_the_batch_it_rests_after_can_be_collected()
    {
        var projection = new Resting();
        using var runner = new ProjectionRunner(projection, Log.Store, new MemoryCheckpoints(), new SoleWorkerLeases(), new ProjectionProgress(),
            new NoProjectionNotifier(), TimeProvider.System, NullLogger<ProjectionRunner>.Instance,
            new ProjectionOptions { Linger = TimeSpan.Zero }, new ProjectionControl());
        await runner.StartAsync(Ct);
        try
        {
            var (batch, data) = await projection.Applied.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);

            // The runner is now resting for 60 s; nothing of this test holds the batch or its events.
            var collected = false;
            for (var attempt = 0; attempt < 50 && !collected; attempt++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                GC.Collect();
                collected = !batch.IsAlive && !data.IsAlive;
                if (!collected)
                    await Task.Delay(100, Ct);
            }

            collected.ShouldBeTrue("the runner held the applied batch (or an event's data) while resting after it");
            projection.Batches.ShouldBe(1);
        }
        finally
        {
            await runner.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task then_a_projection_on_a_budget_rests_after_its_reads_of_the_log_as_well_as_its_apply()
    {
        // Reading a batch takes 300 ms here, applying it nothing: the work the rest is counted from is the read's.
        var projection = new Budgeted();
        using var runner = new ProjectionRunner(projection, new SlowReads(Log.Store, TimeSpan.FromMilliseconds(300)), new MemoryCheckpoints(),
            new SoleWorkerLeases(), new ProjectionProgress(), new NoProjectionNotifier(), TimeProvider.System,
            NullLogger<ProjectionRunner>.Instance, new ProjectionOptions { Linger = TimeSpan.Zero }, new ProjectionControl());
        await runner.StartAsync(Ct);
        try
        {
            var work = await projection.Rested.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);
            work.ShouldBeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(290));
        }
        finally
        {
            await runner.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>Applies at once; remembers the work its first rest is counted from.</summary>
    private sealed class Budgeted : IProjection
    {
        public string Name => "budgeted";

        public TaskCompletionSource<TimeSpan> Rested { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task ApplyAsync(IReadOnlyList<StoredEvent> batch, CancellationToken cancellationToken) => Task.CompletedTask;

        public TimeSpan RestAfter(TimeSpan work)
        {
            Rested.TrySetResult(work);
            return TimeSpan.FromSeconds(60);
        }
    }

    /// <summary>The real store, whose reads of the whole log take <paramref name="delay"/> longer.</summary>
    private sealed class SlowReads(IEventStore inner, TimeSpan delay) : IEventStore
    {
        public async Task<IReadOnlyList<StoredEvent>> ReadAllAsync(long afterPosition, int maxCount, CancellationToken cancellationToken)
        {
            await Task.Delay(delay, cancellationToken);
            return await inner.ReadAllAsync(afterPosition, maxCount, cancellationToken);
        }

        public async Task<IReadOnlyList<StoredEvent>> ReadAllAsync(long afterPosition, int maxCount, EventDataScope data, CancellationToken cancellationToken)
        {
            await Task.Delay(delay, cancellationToken);
            return await inner.ReadAllAsync(afterPosition, maxCount, data, cancellationToken);
        }

        public Task<AppendResult> AppendAsync(IReadOnlyList<StreamAppend> appends, CancellationToken cancellationToken) =>
            inner.AppendAsync(appends, cancellationToken);

        public IAsyncEnumerable<StoredEvent> ReadStreamAsync(string stream, long fromVersion, CancellationToken cancellationToken) =>
            inner.ReadStreamAsync(stream, fromVersion, cancellationToken);

        public Task<long[]> ReadStreamVersionsAsync(IReadOnlyList<string> streams, CancellationToken cancellationToken) =>
            inner.ReadStreamVersionsAsync(streams, cancellationToken);

        public Task WaitForEventsAfterAsync(long afterPosition, CancellationToken cancellationToken) =>
            inner.WaitForEventsAfterAsync(afterPosition, cancellationToken);

        public Task<long> GetLastPositionAsync(CancellationToken cancellationToken) => inner.GetLastPositionAsync(cancellationToken);
    }

    /// <summary>Takes weak references to the batch and to its first event's data, and asks to rest 60 s after each.</summary>
    private sealed class Resting : IProjection
    {
        public string Name => "resting";

        public TaskCompletionSource<(WeakReference Batch, WeakReference Data)> Applied { get; } =
            new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Batches { get; private set; }

        public Task ApplyAsync(IReadOnlyList<StoredEvent> batch, CancellationToken cancellationToken)
        {
            Batches++;
            Applied.TrySetResult(References(batch));
            return Task.CompletedTask;
        }

        public TimeSpan RestAfter(TimeSpan work) => TimeSpan.FromSeconds(60);

        // Not inlined, so no register or stack slot of the caller keeps the batch alive.
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static (WeakReference, WeakReference) References(IReadOnlyList<StoredEvent> batch) =>
            (new WeakReference(batch), new WeakReference(batch[0].Data));
    }
}
