using AgentStack.Projections.Running;

namespace AgentStack.Projections.Tests.Leasing;

public sealed class when_the_log_is_split_into_parts
{
    [Fact]
    public void then_a_stream_always_falls_in_the_same_part() =>
        // Fixed values (FNV-1a, computed independently): a change of hash would silently re-assign every trace and re-project from 0.
        new[] { LogPartitions.Of("trace-default-0af7651916cd43dd8448eb211c80319c", 8), LogPartitions.Of("trace-acme-1", 8), LogPartitions.Of("", 8) }
            .ShouldBe([5, 1, 5]);

    [Fact]
    public void then_streams_spread_over_every_part()
    {
        var counts = Enumerable.Range(0, 8000).GroupBy(i => LogPartitions.Of($"trace-default-{i:x32}", 8)).ToDictionary(g => g.Key, g => g.Count());
        counts.Keys.Order().ShouldBe(Enumerable.Range(0, 8));
        counts.Values.ShouldAllBe(c => c > 800 && c < 1200);
    }

    [Fact]
    public void then_one_part_keeps_the_projection_name_and_several_name_their_count() =>
        new[] { LogPartitions.CheckpointName("analytics", 0, 1), LogPartitions.CheckpointName("analytics", 3, 8) }
            .ShouldBe(["analytics", "analytics/3-of-8"]);
}
