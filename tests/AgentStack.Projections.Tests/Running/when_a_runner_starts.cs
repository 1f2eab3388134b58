using System.Text;
using AgentStack.Events;
using AgentStack.EventStore.Sqlite;
using AgentStack.Projections.Running;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentStack.Projections.Tests.Running;

/// <summary>
/// A runner loads its checkpoint after its host is ready, so a wait asked for at once (<c>GET
/// /api/projections/{name}/wait</c>, by the projection's base name for a versioned one) came before the projection was
/// known and found none: a restarted server with a new detector version answered 404. The runner now announces its
/// projection when it starts. A real SQLite log; the checkpoint load is held open until the test lets it go.
/// </summary>
public sealed class when_a_runner_starts : IAsyncLifetime
{
    private readonly string folder = Path.Combine(Path.GetTempPath(), "agentstack-runner-" + Guid.NewGuid().ToString("N"));
    private SqliteEventStore store = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        store = new SqliteEventStore(new SqliteEventStoreOptions(Path.Combine(folder, "events.db")), TimeProvider.System);
        EventData[] events = [.. Enumerable.Range(1, 5).Select(i => new EventData("test.v1", Encoding.UTF8.GetBytes($"{{\"n\":{i}}}")))];
        await store.AppendAsync("stream-1", StreamAppend.NoStream, events, Ct);
    }

    public async ValueTask DisposeAsync()
    {
        await store.DisposeAsync();
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public async Task then_a_wait_finds_its_projection_before_its_checkpoint_is_loaded_and_ends_when_it_catches_up()
    {
        var progress = new ProjectionProgress();
        var checkpoints = new HeldCheckpoints();
        using var runner = new ProjectionRunner(new Versioned(), store, checkpoints, new SoleWorkerLeases(), progress,
            new NoProjectionNotifier(), TimeProvider.System, NullLogger<ProjectionRunner>.Instance,
            new ProjectionOptions { Linger = TimeSpan.Zero }, new ProjectionControl());
        await runner.StartAsync(Ct);
        try
        {
            await checkpoints.Loading.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);

            progress.TryResolve("versioned", out var name).ShouldBeTrue("the projection was not known while its checkpoint loaded");
            name.ShouldBe("versioned@2");
            progress.Positions.ShouldNotContainKey(name, "a projection that has not reported has no position to show");
            var caughtUp = progress.WaitForAsync(name, await store.GetLastPositionAsync(Ct), Ct);
            caughtUp.IsCompleted.ShouldBeFalse();

            checkpoints.Release.SetResult();
            await caughtUp.WaitAsync(TimeSpan.FromSeconds(30), Ct);
            progress.Positions[name].ShouldBe(await store.GetLastPositionAsync(Ct));
        }
        finally
        {
            checkpoints.Release.TrySetResult();
            await runner.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public void then_a_name_nobody_runs_is_not_found()
    {
        var progress = new ProjectionProgress();
        progress.Announce("versioned@2");
        progress.Announce("versioned@3");

        progress.TryResolve("unknown", out _).ShouldBeFalse();
        progress.TryResolve("versioned", out _).ShouldBeFalse("two versions: the base name names neither");
        progress.TryResolve("versioned@3", out var exact).ShouldBeTrue();
        exact.ShouldBe("versioned@3");
    }

    private sealed class Versioned : IProjection
    {
        public string Name => "versioned@2";

        public Task ApplyAsync(IReadOnlyList<StoredEvent> batch, CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>Checkpoints in a dictionary, whose first load does not answer until <see cref="Release"/> is set.</summary>
    private sealed class HeldCheckpoints : ICheckpointStore
    {
        private readonly Dictionary<string, long> saved = new(StringComparer.Ordinal);

        public TaskCompletionSource Loading { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task<IReadOnlyDictionary<string, long>> LoadAsync(IReadOnlyCollection<string> names, CancellationToken cancellationToken)
        {
            Loading.TrySetResult();
            await Release.Task.WaitAsync(cancellationToken);
            lock (saved)
                return names.ToDictionary(n => n, n => saved.GetValueOrDefault(n), StringComparer.Ordinal);
        }

        public Task SaveAsync(IReadOnlyDictionary<string, long> checkpoints, CancellationToken cancellationToken)
        {
            lock (saved)
                foreach (var (name, position) in checkpoints)
                    saved[name] = Math.Max(saved.GetValueOrDefault(name), position);
            return Task.CompletedTask;
        }
    }
}
