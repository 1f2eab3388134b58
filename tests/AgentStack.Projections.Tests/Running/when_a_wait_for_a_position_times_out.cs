using AgentStack.Projections.Running;

namespace AgentStack.Projections.Tests.Running;

/// <summary>
/// <c>GET /api/projections/{name}/wait?position=N</c> ends at its timeout; a position past the log's end is never
/// reached, and each such wait stayed in the projection's list for good, walked under its lock by every batch's report.
/// </summary>
public sealed class when_a_wait_for_a_position_times_out
{
    [Fact]
    public async Task then_it_leaves_nothing_behind_and_a_wait_still_pending_completes()
    {
        var progress = new ProjectionProgress();
        progress.Report("analytics", 10);
        for (var i = 0; i < 5; i++)
        {
            using var timeout = new CancellationTokenSource();
            var wait = progress.WaitForAsync("analytics", 1_000_000, timeout.Token);
            await timeout.CancelAsync();
            await Should.ThrowAsync<OperationCanceledException>(() => wait);
        }
        progress.Waiting("analytics").ShouldBe(0);

        var pending = progress.WaitForAsync("analytics", 20, TestContext.Current.CancellationToken);
        progress.Waiting("analytics").ShouldBe(1);
        progress.Report("analytics", 20);
        await pending;
        progress.Waiting("analytics").ShouldBe(0);
    }
}
