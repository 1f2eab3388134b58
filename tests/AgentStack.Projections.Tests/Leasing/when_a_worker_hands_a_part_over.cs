using AgentStack.Events;
using AgentStack.Projections.Running;
using AgentStack.Projections.Tests.Running;
using AgentStack.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentStack.Projections.Tests.Leasing;

/// <summary>
/// Issue 4: a worker that hands a part of the log over to a worker that joined stops listing it. It kept the part in its
/// progress at the last position it applied, so its <c>GET /api/projections</c> showed the part further behind the log
/// with every event, though the other worker kept it up to date. Two runners on leases in real PostgreSQL over a real
/// SQLite log.
/// </summary>
public sealed class when_a_worker_hands_a_part_over(LeaseSchema<when_a_worker_hands_a_part_over> schema)
    : WithRunnerTestLog(5), IClassFixture<LeaseSchema<when_a_worker_hands_a_part_over>>
{
    private readonly string projection = "p" + Guid.NewGuid().ToString("N")[..10];

    [Fact]
    public async Task then_it_lists_only_the_part_it_still_holds()
    {
        var checkpoints = new MemoryCheckpoints();
        var last = await Log.Store.GetLastPositionAsync(Ct);
        var first = new ProjectionProgress();
        await using var firstLeases = Leases("first");
        using var firstRunner = Runner("first", first, firstLeases, checkpoints);
        await firstRunner.StartAsync(Ct);
        try
        {
            await Task.WhenAll(first.WaitForAsync(Part(0), last, Ct), first.WaitForAsync(Part(1), last, Ct)).WaitAsync(TimeSpan.FromSeconds(30), Ct);

            var second = new ProjectionProgress();
            await using var secondLeases = Leases("second");
            using var secondRunner = Runner("second", second, secondLeases, checkpoints);
            await secondRunner.StartAsync(Ct);
            try
            {
                // The second worker takes one part once the first hands it back (each renews every third of a second).
                await Eventually.UntilAsync(() => second.Positions.Count > 0, TimeSpan.FromSeconds(30),
                    () => $"the second worker took no part; the first lists {Listed(first)}");
                var taken = second.Positions.Keys.ShouldHaveSingleItem();

                await Eventually.UntilAsync(() => !first.Positions.ContainsKey(taken), TimeSpan.FromSeconds(30),
                    () => $"the first worker still lists the part it handed over ({taken}), at a position that no longer moves: {Listed(first)}");
                first.Positions.Keys.ShouldBe([taken == Part(0) ? Part(1) : Part(0)],
                    "the first worker still lists the part it handed over, at a position that no longer moves");
            }
            finally
            {
                await secondRunner.StopAsync(CancellationToken.None);
            }
        }
        finally
        {
            await firstRunner.StopAsync(CancellationToken.None);
        }
    }

    private string Part(int part) => LogPartitions.CheckpointName(projection, part, 2);

    private static string Listed(ProjectionProgress progress) =>
        string.Join(", ", progress.Positions.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key} at {p.Value}"));

    private ProjectionOptions Options(string worker) => new()
    {
        Partitions = 2, Leases = "Postgres", WorkerId = worker, LeaseSchema = schema.Name, LeaseDuration = TimeSpan.FromSeconds(1),
        Linger = TimeSpan.Zero,
    };

    private PostgresProjectionLeases Leases(string worker) =>
        new(LeaseSchema<when_a_worker_hands_a_part_over>.ConnectionString, Options(worker));

    private ProjectionRunner Runner(string worker, ProjectionProgress progress, PostgresProjectionLeases leases, ICheckpointStore checkpoints) =>
        new(new Named(projection), Log.Store, checkpoints, leases, progress, new NoProjectionNotifier(), TimeProvider.System,
            NullLogger<ProjectionRunner>.Instance, Options(worker), new ProjectionControl());

    private sealed class Named(string name) : IProjection
    {
        public string Name => name;

        public Task ApplyAsync(IReadOnlyList<StoredEvent> batch, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
