using AgentStack.EventStore.Common;
using AgentStack.Projections.Running;

namespace AgentStack.Projections.Tests.Running;

/// <summary>
/// Issue 13: the projection runners run on threads of their own at a lower CPU priority, so that a full CPU serves
/// ingestion (requests and the event store's writer) first. Linux only: elsewhere the threads keep the process's priority.
/// </summary>
public sealed class when_projections_run_behind_ingestion
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task then_a_runner_runs_at_the_lower_priority_before_and_after_its_awaits()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "thread priorities are read from /proc");
        using var scheduler = new PriorityScheduler(threads: 2, nice: 10);
        var seen = new List<(int? Nice, string? Thread)>();
        // Relative to the process's priority, which a test run may already have lowered (nice 19 at most).
        var lowered = Math.Min(19, ThreadNice.Process()!.Value + 10);
        var caller = ThreadNice.Current();

        await scheduler.Run(async () =>
        {
            seen.Add((ThreadNice.Current(), Thread.CurrentThread.Name));
            await Task.Delay(20, Ct);   // completes on a timer thread: the continuation must come back here
            seen.Add((ThreadNice.Current(), Thread.CurrentThread.Name));
            await Task.Yield();
            seen.Add((ThreadNice.Current(), Thread.CurrentThread.Name));
        }, Ct);

        seen.Count.ShouldBe(3);
        seen.ShouldAllBe(s => s.Nice == lowered && s.Thread != null && s.Thread.StartsWith("projections-"));
        // The caller (a test thread of the pool) is left at the process's priority.
        ThreadNice.Current().ShouldBe(caller);
    }

    [Fact]
    public async Task then_a_failing_runner_fails_its_task_and_the_threads_keep_serving()
    {
        using var scheduler = new PriorityScheduler(threads: 1, nice: 5);

        var failing = scheduler.Run(async () =>
        {
            await Task.Yield();
            throw new InvalidOperationException("projection failed");
        }, Ct);

        (await Should.ThrowAsync<InvalidOperationException>(failing)).Message.ShouldBe("projection failed");
        var after = 0;
        await scheduler.Run(async () => { await Task.Yield(); after = 1; }, Ct);
        after.ShouldBe(1);
    }

    [Fact]
    public async Task then_with_the_default_threads_a_cheap_runner_is_not_held_behind_the_long_batches_of_the_others()
    {
        using var scheduler = new PriorityScheduler(new ProjectionOptions().Threads, nice: 10);
        using var release = new ManualResetEventSlim();
        // The four other runners of the all-in-one server (the end-to-end when_the_server_describes_itself counts them),
        // each in a batch that holds its thread (a synchronous read of the log, the detectors at work).
        var holding = Enumerable.Range(0, 4)
            .Select(_ => scheduler.Run(() => { release.Wait(Ct); return Task.CompletedTask; }, Ct)).ToList();
        try
        {
            var cheap = scheduler.Run(async () => await Task.Yield(), Ct);
            (await Task.WhenAny(cheap, Task.Delay(TimeSpan.FromSeconds(10), Ct))).ShouldBe(cheap);
        }
        finally
        {
            release.Set();
            await Task.WhenAll(holding);
        }
    }

    [Theory]
    [InlineData(-1, 2, 10)]
    [InlineData(20, 2, 10)]
    [InlineData(10, 0, 10)]
    [InlineData(10, 2, -1)]
    [InlineData(10, 2, 21)]
    public void then_a_priority_or_thread_count_out_of_range_is_refused_at_start(int nice, int threads, int analytics)
    {
        var options = new ProjectionOptions { Nice = nice, Threads = threads, AnalyticsPriority = analytics };
        Should.Throw<InvalidOperationException>(options.Validate).Message.ShouldContain(ProjectionOptions.Section);
    }

    [Fact]
    public async Task then_the_analytics_runner_runs_above_the_process_where_it_may_and_at_its_priority_where_refused()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "thread priorities are read from /proc");
        var process = ThreadNice.Process()!.Value;
        var creator = ThreadNice.Current();
        // Whether this process may raise a thread above its own priority: tried on a thread of its own.
        var errno = -1;
        var probe = new Thread(() => errno = ThreadNice.TrySetFromProcess(-1));
        probe.Start();
        probe.Join();
        using var scheduler = new PriorityScheduler(threads: 1, nice: -10, name: "analytics");
        (int? Nice, string? Thread) seen = default;

        await scheduler.Run(async () =>
        {
            await Task.Delay(20, Ct);
            seen = (ThreadNice.Current(), Thread.CurrentThread.Name);
        }, Ct);

        seen.Thread.ShouldBe("analytics-0");
        seen.Nice.ShouldBe(errno == 0 ? Math.Max(-20, process - 10) : creator);
    }

    [Fact]
    public void then_nice_zero_is_a_valid_setting_and_a_scheduler_needs_at_least_one_step()
    {
        new ProjectionOptions { Nice = 0 }.Validate();
        Should.Throw<ArgumentOutOfRangeException>(() => new PriorityScheduler(threads: 1, nice: 0));
        Should.Throw<ArgumentOutOfRangeException>(() => new PriorityScheduler(threads: 1, nice: -21));
    }
}
