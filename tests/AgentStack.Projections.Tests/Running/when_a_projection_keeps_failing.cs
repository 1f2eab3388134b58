using AgentStack.Events;
using AgentStack.Projections.Running;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentStack.Projections.Tests.Running;

/// <summary>
/// A projection whose every apply throws (its store is away for good) is retried with backoff, each retry from its
/// checkpoint. Reporting that checkpoint again cleared the error, so <c>GET /api/projections</c> showed the projection
/// well from each retry on, and the error only while the runner waited: an operator polling it could see a failing
/// projection healthy. The projection itself takes the status at each apply, the moment of a retry; a real SQLite log.
/// </summary>
public sealed class when_a_projection_keeps_failing() : WithRunnerTestLog(5)
{
    private const string Error = "the analytics store is away";

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task then_every_retry_still_shows_the_error(int partitions)
    {
        var progress = new ProjectionProgress();
        var projection = new Failing(progress, applies: 3);
        using var runner = new ProjectionRunner(projection, Log.Store, new MemoryCheckpoints(), new SoleWorkerLeases(), progress,
            new NoProjectionNotifier(), TimeProvider.System, NullLogger<ProjectionRunner>.Instance,
            new ProjectionOptions { Partitions = partitions, Linger = TimeSpan.Zero }, new ProjectionControl());
        await runner.StartAsync(Ct);
        try
        {
            var seen = await projection.Applied.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);

            string[] names = partitions == 1 ? ["failing"] : ["failing", "failing/0-of-2", "failing/1-of-2"];
            foreach (var errors in seen.Skip(1))
            {
                errors.Keys.Order(StringComparer.Ordinal).ShouldBe(names);
                errors.Values.ShouldAllBe(e => e == Error, "the retry from the checkpoint cleared the error of the batch that still fails");
            }
        }
        finally
        {
            await runner.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>Throws on every apply; takes the errors the status lists as each starts, until <paramref name="applies"/> have.</summary>
    private sealed class Failing(ProjectionProgress progress, int applies) : IProjection
    {
        private readonly List<IReadOnlyDictionary<string, string?>> seen = [];

        public string Name => "failing";

        public TaskCompletionSource<IReadOnlyList<IReadOnlyDictionary<string, string?>>> Applied { get; } =
            new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task ApplyAsync(IReadOnlyList<StoredEvent> batch, CancellationToken cancellationToken)
        {
            seen.Add(progress.Errors);
            if (seen.Count == applies)
                Applied.TrySetResult([.. seen]);
            throw new InvalidOperationException(Error);
        }
    }
}
