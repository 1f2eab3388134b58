using AgentStack.Projections.Running;
using AgentStack.Testing;

namespace AgentStack.Projections.Tests.Leasing;

/// <summary>
/// Issue 4: projection workers share the log's parts through leases in PostgreSQL. Each test uses its
/// own projection name, so the tests of the class share one schema without seeing each other.
/// </summary>
public sealed class when_workers_share_the_parts_of_the_log(LeaseSchema<when_workers_share_the_parts_of_the_log> schema)
    : IClassFixture<LeaseSchema<when_workers_share_the_parts_of_the_log>>, IAsyncLifetime
{
    private const int Parts = 8;
    private readonly List<PostgresProjectionLeases> workers = [];
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private readonly string projection = "p" + Guid.NewGuid().ToString("N")[..10];

    private PostgresProjectionLeases Worker(string id, TimeSpan? lease = null)
    {
        var worker = new PostgresProjectionLeases(LeaseSchema<when_workers_share_the_parts_of_the_log>.ConnectionString,
            new ProjectionOptions { WorkerId = id, LeaseSchema = schema.Name, LeaseDuration = lease ?? TimeSpan.FromSeconds(30) });
        workers.Add(worker);
        return worker;
    }

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        foreach (var worker in workers)
            await worker.DisposeAsync();
    }

    [Fact]
    public async Task then_a_lone_worker_holds_every_part()
    {
        var held = await Worker("a").BalanceAsync(projection, Parts, Ct);
        held.Order().ShouldBe(Enumerable.Range(0, Parts));
    }

    [Fact]
    public async Task then_a_worker_running_several_projections_holds_every_part_of_each()
    {
        // A process registers one lease store for all its projection runners (analytics, findings, detections...).
        var worker = Worker("a");
        var other = "p" + Guid.NewGuid().ToString("N")[..10];

        (await worker.BalanceAsync(projection, Parts, Ct)).Order().ShouldBe(Enumerable.Range(0, Parts));
        (await worker.BalanceAsync(other, Parts, Ct)).Order().ShouldBe(Enumerable.Range(0, Parts));
    }

    [Fact]
    public async Task then_a_second_worker_gets_half_and_no_part_is_held_twice()
    {
        var a = Worker("a");
        var b = Worker("b");
        await a.BalanceAsync(projection, Parts, Ct);
        await b.BalanceAsync(projection, Parts, Ct);            // b counts two workers; every part is taken
        var aHeld = await a.BalanceAsync(projection, Parts, Ct); // a hands back the parts above its share
        var bHeld = await b.BalanceAsync(projection, Parts, Ct); // b takes them

        aHeld.Count.ShouldBe(Parts / 2);
        bHeld.Count.ShouldBe(Parts / 2);
        aHeld.Intersect(bHeld).ShouldBeEmpty();
        aHeld.Union(bHeld).Order().ShouldBe(Enumerable.Range(0, Parts));
    }

    [Fact]
    public async Task then_the_parts_of_a_worker_that_stops_renewing_go_to_the_others_once_its_leases_expire()
    {
        var dying = Worker("dying", lease: TimeSpan.FromSeconds(1));
        var survivor = Worker("survivor", lease: TimeSpan.FromSeconds(1));
        await dying.BalanceAsync(projection, Parts, Ct);
        await survivor.BalanceAsync(projection, Parts, Ct);
        await dying.BalanceAsync(projection, Parts, Ct);
        (await survivor.BalanceAsync(projection, Parts, Ct)).Count.ShouldBe(Parts / 2);

        // "dying" never calls again, as after a SIGKILL. The survivor keeps renewing until it holds everything.
        IReadOnlySet<int> held = new HashSet<int>();
        await Eventually.UntilAsync(async () => (held = await survivor.BalanceAsync(projection, Parts, Ct)).Count == Parts,
            TimeSpan.FromSeconds(30),
            () => $"the survivor holds parts {string.Join(',', held.Order())} of {Parts}: the dying worker's did not come to it when its 1 s leases expired");
        held.Order().ShouldBe(Enumerable.Range(0, Parts));
    }

    [Fact]
    public async Task then_a_worker_that_stops_cleanly_hands_its_parts_over_at_once()
    {
        var leaving = Worker("leaving");
        var staying = Worker("staying");
        await leaving.BalanceAsync(projection, Parts, Ct);
        await staying.BalanceAsync(projection, Parts, Ct);
        await leaving.BalanceAsync(projection, Parts, Ct);

        await leaving.ReleaseAllAsync(projection, Ct);

        // 30 s leases: only the hand-over explains getting every part now.
        (await staying.BalanceAsync(projection, Parts, Ct)).Order().ShouldBe(Enumerable.Range(0, Parts));
    }

    [Fact]
    public async Task then_workers_balancing_at_the_same_time_never_hold_a_part_twice()
    {
        var all = Enumerable.Range(0, 4).Select(i => Worker("w" + i)).ToList();
        var rounds = new List<IReadOnlySet<int>[]>();
        for (var round = 0; round < 4; round++)
            rounds.Add(await Task.WhenAll(all.Select(w => w.BalanceAsync(projection, Parts, Ct))));

        foreach (var held in rounds)
        {
            var parts = held.SelectMany(h => h).ToList();
            parts.Count.ShouldBe(parts.Distinct().Count());
        }
        rounds[^1].ShouldAllBe(h => h.Count == Parts / all.Count);
    }
}
