using AgentStack.Erasure.Sealing;
using AgentStack.Events;

namespace AgentStack.EventStore.Tests.Erasure;

/// <summary>
/// Issue 13: the projections a commit wakes together ask for the same position at once, before any of them has
/// filled the cache of opened events. The sealing store reads the log once for all of them. Runners behind the tail
/// read one after another what the first of them read: that read is kept for them, as long as it is near the tail.
/// </summary>
public sealed class when_runners_read_the_log_at_once : IClassFixture<SqliteDatabaseFolder<when_runners_read_the_log_at_once>>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly SqliteDatabaseFolder<when_runners_read_the_log_at_once> folder;

    public when_runners_read_the_log_at_once(SqliteDatabaseFolder<when_runners_read_the_log_at_once> folder) => this.folder = folder;

    private async Task<(SealingEventStore Store, CountingEventStore Counted)> OpenAsync(string name)
    {
        CountingEventStore? counted = null;
        var (store, raw, _) = SealedLogs.Open(folder.Path, name, inner => counted = new CountingEventStore(inner));
        await raw.AppendAsync("s", StreamAppend.NoStream, TestEvents.Numbered(5), Ct);
        return (store, counted!);
    }

    [Fact]
    public async Task then_one_read_of_the_store_serves_them_all_each_up_to_its_own_count()
    {
        var (store, counted) = await OpenAsync("together");
        counted.HoldReadsAll();

        var wide = Enumerable.Range(0, 3).Select(_ => store.ReadAllAsync(0, 100, Ct)).ToList();
        var narrow = store.ReadAllAsync(0, 2, Ct);
        counted.ReleaseReadsAll();

        foreach (var read in wide)
            (await read).Select(e => e.Position).ShouldBe([1L, 2, 3, 4, 5]);
        (await narrow).Select(e => e.Position).ShouldBe([1L, 2]);
        counted.AllReads.ShouldBe(1);
    }

    [Fact]
    public async Task then_a_reader_whose_first_caller_gave_up_reads_for_itself()
    {
        var (store, counted) = await OpenAsync("cancelled");
        counted.HoldReadsAll();
        using var givingUp = CancellationTokenSource.CreateLinkedTokenSource(Ct);

        var first = store.ReadAllAsync(0, 100, givingUp.Token);
        var joined = store.ReadAllAsync(0, 100, Ct);
        await givingUp.CancelAsync();
        await Should.ThrowAsync<OperationCanceledException>(() => first);
        counted.ReleaseReadsAll();

        (await joined).Select(e => e.Position).ShouldBe([1L, 2, 3, 4, 5]);
        counted.AllReads.ShouldBe(2);
    }

    [Fact]
    public async Task then_a_runner_behind_reads_from_what_the_runner_ahead_of_it_read_and_opened()
    {
        // A batch of half the ring, as a runner catching up reads it.
        CountingEventStore? counted = null;
        var (store, raw, _) = SealedLogs.Open(folder.Path, "behind", inner => counted = new CountingEventStore(inner));
        var count = OpenedEvents.DefaultCapacity / 2;
        await raw.AppendAsync("s", StreamAppend.NoStream, TestEvents.Numbered(count), Ct);

        (await store.ReadAllAsync(0, count, Ct)).Count.ShouldBe(count);
        (await store.ReadAllAsync(0, count, Ct)).Select(e => e.Position).ShouldBe(Enumerable.Range(1, count).Select(p => (long)p));
        counted!.AllReads.ShouldBe(1);
    }

    [Fact]
    public async Task then_a_read_far_behind_the_tail_is_shared_with_the_runners_behind_it_and_leaves_the_tail_in_place()
    {
        CountingEventStore? counted = null;
        var (store, raw, _) = SealedLogs.Open(folder.Path, "far", inner => counted = new CountingEventStore(inner));
        var tail = OpenedEvents.DefaultCapacity;
        await raw.AppendAsync("s", StreamAppend.NoStream, TestEvents.Numbered(tail + 100), Ct);
        (await store.ReadAllAsync(tail, 100, Ct)).Count.ShouldBe(100);

        // A runner far behind (a rebuild from 0), then one behind it at the same place.
        (await store.ReadAllAsync(0, 1_000, Ct)).Count.ShouldBe(1_000);
        (await store.ReadAllAsync(0, 1_000, Ct)).Select(e => e.Position).ShouldBe(Enumerable.Range(1, 1_000).Select(p => (long)p));
        // The runner at the tail still finds it: the far read took none of the tail's slots.
        (await store.ReadAllAsync(tail, 100, Ct)).Select(e => e.Position).ShouldBe(Enumerable.Range(tail + 1, 100).Select(p => (long)p));
        counted!.AllReads.ShouldBe(2);
    }
}
