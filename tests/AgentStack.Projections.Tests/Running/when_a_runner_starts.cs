using AgentStack.Events;
using AgentStack.Projections.Running;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentStack.Projections.Tests.Running;

/// <summary>
/// A runner loads its checkpoint after its host is ready, so a wait asked for at once (<c>GET
/// /api/projections/{name}/wait</c>, by the projection's base name for a versioned one) came before the projection was
/// known and found none: a restarted server with a new detector version answered 404. The runner now announces its
/// projection when it starts. A real SQLite log; the checkpoint load is held open until the test lets it go.
/// </summary>
public sealed class when_a_runner_starts() : WithRunnerTestLog(5)
{
    [Fact]
    public async Task then_a_wait_finds_its_projection_before_its_checkpoint_is_loaded_and_ends_when_it_catches_up()
    {
        var progress = new ProjectionProgress();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var checkpoints = new MemoryCheckpoints(release.Task);
        using var runner = new ProjectionRunner(new Versioned(), Log.Store, checkpoints, new SoleWorkerLeases(), progress,
            new NoProjectionNotifier(), TimeProvider.System, NullLogger<ProjectionRunner>.Instance,
            new ProjectionOptions { Linger = TimeSpan.Zero }, new ProjectionControl());
        await runner.StartAsync(Ct);
        try
        {
            await checkpoints.Loading.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);

            progress.Knows("versioned@2").ShouldBeTrue("the projection was not known while its checkpoint loaded");
            progress.TryResolve("versioned", out var name).ShouldBeTrue("the projection was not found by its base name");
            name.ShouldBe("versioned@2");
            progress.Positions.ShouldNotContainKey(name, "a projection that has not reported has no position to show");
            var caughtUp = progress.WaitForAsync(name, await Log.Store.GetLastPositionAsync(Ct), Ct);
            caughtUp.IsCompleted.ShouldBeFalse();

            release.SetResult();
            await caughtUp.WaitAsync(TimeSpan.FromSeconds(30), Ct);
            progress.Positions[name].ShouldBe(await Log.Store.GetLastPositionAsync(Ct));
        }
        finally
        {
            release.TrySetResult();
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
}
