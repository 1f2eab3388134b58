using AgentStack.Projections.Running;

namespace AgentStack.Projections.Tests.Running;

/// <summary>
/// Issue 13: batches that are not full are at least <see cref="ProjectionOptions.Linger"/> apart, counted from when a
/// batch was read, so a batch that took that long to apply adds no wait before the next (docs/projections.md).
/// </summary>
public sealed class when_a_runner_lingers_between_batches
{
    private static readonly ProjectionOptions Options = new() { BatchSize = 1_000, Linger = TimeSpan.FromMilliseconds(200) };

    [Fact]
    public void then_a_quick_small_batch_waits_what_remains_of_the_linger() =>
        Options.LingerAfter(10, TimeSpan.FromMilliseconds(30)).ShouldBe(TimeSpan.FromMilliseconds(170));

    [Theory]
    [InlineData(200)]
    [InlineData(650)]
    public void then_a_batch_that_took_the_linger_or_longer_is_followed_at_once(int applyingMilliseconds) =>
        Options.LingerAfter(10, TimeSpan.FromMilliseconds(applyingMilliseconds)).ShouldBe(TimeSpan.Zero);

    [Fact]
    public void then_a_full_batch_is_followed_at_once() =>
        Options.LingerAfter(1_000, TimeSpan.FromMilliseconds(1)).ShouldBe(TimeSpan.Zero);

    [Fact]
    public void then_no_linger_means_no_wait() =>
        new ProjectionOptions { Linger = TimeSpan.Zero }.LingerAfter(1, TimeSpan.Zero).ShouldBe(TimeSpan.Zero);
}
