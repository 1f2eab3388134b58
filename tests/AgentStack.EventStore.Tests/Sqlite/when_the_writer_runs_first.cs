using AgentStack.EventStore.Common;
using AgentStack.EventStore.Sqlite;
using AgentStack.Events;

namespace AgentStack.EventStore.Tests.Sqlite;

/// <summary>
/// Issue 13: the writer, the log's one serial stage, runs above the process's priority where the process may raise a
/// thread's (CAP_SYS_NICE or RLIMIT_NICE), and at the process's otherwise. Linux only: nice values are read from /proc.
/// </summary>
public sealed class when_the_writer_runs_first(SqliteDatabaseFolder<when_the_writer_runs_first> folder)
    : IClassFixture<SqliteDatabaseFolder<when_the_writer_runs_first>>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Whether this process may raise a thread above its own priority: tried on a thread of its own.</summary>
    private static bool MayRaise()
    {
        var errno = -1;
        var probe = new Thread(() => errno = ThreadNice.TrySetFromProcess(-1));
        probe.Start();
        probe.Join();
        return errno == 0;
    }

    [Fact]
    public async Task then_the_writer_runs_the_configured_steps_above_the_process_or_at_its_priority_when_refused()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "nice values are read from /proc");
        var creator = ThreadNice.Current()!.Value;
        var process = ThreadNice.Process()!.Value;

        await using var store = new SqliteEventStore(
            new SqliteEventStoreOptions(Path.Combine(folder.Path, "raised", "events.db")) { WriterPriority = 5 }, TimeProvider.System);

        store.WriterNice.ShouldBe(MayRaise() ? Math.Max(-20, process - 5) : creator);
        store.CheckpointerNice.ShouldBe(store.WriterNice); // the WAL's copy keeps up with what the writer appends
        (await store.AppendAsync("s", StreamAppend.NoStream, TestEvents.Numbered(3), Ct)).LastPosition.ShouldBe(3);
    }

    [Fact]
    public async Task then_priority_zero_leaves_the_writer_where_its_creator_is()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "nice values are read from /proc");
        var creator = ThreadNice.Current()!.Value;

        await using var store = new SqliteEventStore(
            new SqliteEventStoreOptions(Path.Combine(folder.Path, "same", "events.db")) { WriterPriority = 0 }, TimeProvider.System);

        store.WriterNice.ShouldBe(creator);
        store.CheckpointerNice.ShouldBe(creator);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(21)]
    public void then_a_priority_out_of_range_is_refused(int steps) =>
        Should.Throw<ArgumentOutOfRangeException>(() => new SqliteEventStore(
            new SqliteEventStoreOptions(Path.Combine(folder.Path, $"out-{steps}", "events.db")) { WriterPriority = steps }, TimeProvider.System));
}
