using System.Runtime.CompilerServices;
using AgentStack.Events;
using AgentStack.Projections.Running;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentStack.Projections.Tests.Running;

/// <summary>
/// Issue 13: a runner does not hold the batch it is done with while it waits before the next (the linger, or a
/// projection's rest on a CPU budget): the events and their data would otherwise outlive the collections during the
/// wait and be copied by each (BENCHMARKS.md, "Twentieth sitting"). A real SQLite log; the projection rests 60 s.
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

        public TimeSpan RestAfter(TimeSpan applying) => TimeSpan.FromSeconds(60);

        // Not inlined, so no register or stack slot of the caller keeps the batch alive.
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static (WeakReference, WeakReference) References(IReadOnlyList<StoredEvent> batch) =>
            (new WeakReference(batch), new WeakReference(batch[0].Data));
    }
}
