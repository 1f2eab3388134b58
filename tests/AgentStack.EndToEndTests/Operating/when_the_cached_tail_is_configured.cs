using AgentStack.Testing;

namespace AgentStack.EndToEndTests.Operating;

/// <summary>
/// <c>AgentStack:EventStore:CachedTailMegabytes</c> (docs/event-store.md, "The page cache behind the log"): a value the
/// store does not take stops the server at start with the key to fix.
/// </summary>
public sealed class when_the_cached_tail_is_configured
{
    [Theory]
    [InlineData("-1")]
    [InlineData("1GB")]
    public async Task then_a_size_out_of_range_is_named_at_start(string configured)
    {
        var failed = await Should.ThrowAsync<InvalidOperationException>(() => ServerProcess.StartAsync(new()
        {
            ["AgentStack__EventStore__CachedTailMegabytes"] = configured,
        }));

        failed.Message.ShouldContain($"AgentStack:EventStore:CachedTailMegabytes is '{configured}': use a whole number of megabytes from 0 to 1048576.");
    }
}
