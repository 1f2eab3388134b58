using AgentStack.Erasure.Sealing;
using AgentStack.Events;

namespace AgentStack.EventStore.Tests.Erasure;

/// <summary>
/// Issue 13: the projections a commit wakes together ask for the same position at once, before any of them has
/// filled the cache of opened events. The sealing store reads the log once for all of them.
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
}
