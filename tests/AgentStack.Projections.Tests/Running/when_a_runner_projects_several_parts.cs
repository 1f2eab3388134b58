using AgentStack.Events;
using AgentStack.Projections.Running;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentStack.Projections.Tests.Running;

/// <summary>
/// A process that projects every part of the log itself (<c>AgentStack:Projections:Partitions</c> above 1, no leases:
/// the documented server that rebuilds a distributed deployment) reported each part under its checkpoint name only
/// (<c>findings/0-of-2</c>). The wait, pause and resume endpoints find a projection by its own name
/// (<see cref="ProjectionProgress.TryResolve"/>, <see cref="ProjectionProgress.Knows"/>), and a part's name is not
/// one they take, so every projection but the analytics tables' (whose saved checkpoints are polled under its name)
/// answered 404 there: it could be neither waited for nor paused. A real SQLite log.
/// </summary>
public sealed class when_a_runner_projects_several_parts() : WithRunnerTestLog(5)
{
    [Fact]
    public async Task then_the_projection_is_known_by_its_name_and_a_wait_on_it_ends_when_every_part_caught_up()
    {
        var progress = new ProjectionProgress();
        var last = await Log.Store.GetLastPositionAsync(Ct);
        using var runner = new ProjectionRunner(new Parted(), Log.Store, new MemoryCheckpoints(), new SoleWorkerLeases(), progress,
            new NoProjectionNotifier(), TimeProvider.System, NullLogger<ProjectionRunner>.Instance,
            new ProjectionOptions { Partitions = 2, Linger = TimeSpan.Zero }, new ProjectionControl());
        await runner.StartAsync(Ct);
        try
        {
            progress.TryResolve("parted", out var name).ShouldBeTrue("a wait on the projection would answer 404");
            progress.Knows("parted").ShouldBeTrue("a pause or resume of the projection would answer 404");

            await progress.WaitForAsync(name, last, Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);

            progress.PositionOf("parted/0-of-2").ShouldBe(last);
            progress.PositionOf("parted/1-of-2").ShouldBe(last);
            progress.Positions["parted"].ShouldBe(last);
        }
        finally
        {
            await runner.StopAsync(CancellationToken.None);
        }
    }

    private sealed class Parted : IProjection
    {
        public string Name => "parted";

        public Task ApplyAsync(IReadOnlyList<StoredEvent> batch, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
