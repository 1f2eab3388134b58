using System.Collections.Concurrent;
using AgentStack.Events;
using AgentStack.EventStore.Sqlite;
using AgentStack.Projections.Analytics;
using AgentStack.Projections.Analytics.ChDb;
using AgentStack.Projections.Running;
using AgentStack.Projections.Spans;
using AgentStack.Projections.Spans.Rebuilding;
using Microsoft.Extensions.Logging.Abstractions;
using static AgentStack.Analytics.Tests.ChDbTestEngine;

namespace AgentStack.Analytics.Tests.Spans;

/// <summary>
/// Issue 14.6: the rebuild switches to the new tables while the live runner keeps applying. The runner saves its
/// checkpoint at most once per <see cref="ProjectionOptions.CheckpointInterval"/>, so when the rebuild holds it, it may
/// have applied batches it has not saved yet: the new tables must hold those too, or the runner, going on from where it
/// is, never writes them again. A rebuild holds the engine's current tables, so this class has an engine of its own.
/// </summary>
[Collection(typeof(EngineLifetimeCollection))]
public sealed class when_a_rebuild_switches_under_ingestion : IAsyncLifetime
{
    private readonly string directory = NewDataPath("rebuild-switch");
    private ChDbAnalyticsStore analytics = null!;
    private SqliteEventStore store = null!;

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(directory);
        analytics = new ChDbAnalyticsStore(Options(Path.Combine(directory, "chdb")));
        await AnalyticsSchema.ApplyAsync(analytics, Ct);
        store = new SqliteEventStore(new SqliteEventStoreOptions(Path.Combine(directory, "events.db")), TimeProvider.System);
    }

    public async ValueTask DisposeAsync()
    {
        await store.DisposeAsync();
        analytics.Dispose();
        Directory.Delete(directory, recursive: true);
    }

    private async Task AppendTracesAsync(int from, int count)
    {
        for (var t = from; t < from + count; t++)
        {
            var span = SpanLog.Span($"t{t}", "root", null, $"run {t}", SpanLog.T0.AddSeconds(t), 100);
            await store.AppendAsync(TraceStream.Name("p", span.TraceId), StreamAppend.NoStream,
                [EventTypes.Serialize(new SpanCompleted("p", span, "h", SpanLog.T0, "key"))], Ct);
        }
    }

    [Fact]
    public async Task then_the_new_tables_hold_what_the_runner_applied_and_had_not_saved()
    {
        await AppendTracesAsync(1, 5);
        var checkpoints = new MemoryCheckpoints();
        var progress = new ProjectionProgress();
        var control = new ProjectionControl();
        // The runner saves only when it has caught up, and rests long after a batch that is not full: it holds what it
        // applied unsaved while the rebuild switches.
        var options = new ProjectionOptions { CheckpointInterval = TimeSpan.FromHours(1), Linger = TimeSpan.FromSeconds(30) };
        using var rebuild = new SpansRebuild(analytics, store, checkpoints, progress, control, options, TimeProvider.System,
            NullLogger<SpansRebuild>.Instance);
        await rebuild.StartAsync(Ct);
        rebuild.TryStart().ShouldBeTrue();
        // Replayed positions 1-5; it now waits for the live runner to reach them.
        await WaitForAsync(() => rebuild.Current?.Phase is "switching" or "done" or "failed");

        await AppendTracesAsync(6, 5);
        using var runner = new ProjectionRunner(new SpansProjection(analytics), store, checkpoints, new SoleWorkerLeases(), progress,
            new NoProjectionNotifier(), TimeProvider.System, NullLogger<ProjectionRunner>.Instance, options, control);
        await runner.StartAsync(Ct);
        try
        {
            await WaitForAsync(() => rebuild.Current?.Phase is "done" or "failed");
            var done = rebuild.Current!;
            done.Phase.ShouldBe("done", done.Error);
            (await checkpoints.LoadAsync([SpansProjection.ProjectionName], Ct))[SpansProjection.ProjectionName].ShouldBe(0L, "saved");
            done.Done.ShouldBe(10L);
            done.Parity!.Equal.ShouldBeTrue(done.Parity.ToString());
            (await analytics.QueryTextAsync("SELECT count() FROM agentstack.spans FINAL WHERE project = 'p'")).ShouldBe("10");
            (await analytics.QueryTextAsync("SELECT count() FROM agentstack.traces FINAL WHERE project = 'p'")).ShouldBe("10");
        }
        finally
        {
            await runner.StopAsync(CancellationToken.None);
            await rebuild.StopAsync(CancellationToken.None);
        }
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        for (var waited = TimeSpan.Zero; !condition(); waited += TimeSpan.FromMilliseconds(50))
        {
            waited.ShouldBeLessThan(TimeSpan.FromSeconds(60), "the rebuild did not get there");
            await Task.Delay(50, Ct);
        }
    }

    private sealed class MemoryCheckpoints : ICheckpointStore
    {
        private readonly ConcurrentDictionary<string, long> saved = new(StringComparer.Ordinal);

        public Task<IReadOnlyDictionary<string, long>> LoadAsync(IReadOnlyCollection<string> names, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyDictionary<string, long>>(names.ToDictionary(n => n, n => saved.GetValueOrDefault(n), StringComparer.Ordinal));

        public Task SaveAsync(IReadOnlyDictionary<string, long> checkpoints, CancellationToken cancellationToken)
        {
            foreach (var (name, position) in checkpoints)
                saved.AddOrUpdate(name, position, (_, old) => Math.Max(old, position));
            return Task.CompletedTask;
        }
    }
}
