using AgentStack.Testing;

namespace AgentStack.EndToEndTests.Operating;

/// <summary>
/// The SQLite event store's sizes in megabytes: <c>AgentStack:EventStore:WalRestartMegabytes</c> (docs/event-store.md,
/// "The WAL's size") and <c>AgentStack:EventStore:CachedTailMegabytes</c> ("The page cache behind the log"). A value
/// the store does not take stops the server at start with the key to fix.
/// </summary>
public sealed class when_an_event_store_size_is_configured
{
    [Theory]
    [InlineData("WalRestartMegabytes", "0", "1 to 1048576")]
    [InlineData("WalRestartMegabytes", "64MB", "1 to 1048576")]
    [InlineData("CachedTailMegabytes", "-1", "0 to 1048576")]
    [InlineData("CachedTailMegabytes", "1GB", "0 to 1048576")]
    public async Task then_a_size_out_of_range_is_named_at_start(string key, string configured, string range)
    {
        var failed = await Should.ThrowAsync<InvalidOperationException>(() => ServerProcess.StartAsync(new()
        {
            [$"AgentStack__EventStore__{key}"] = configured,
        }));

        failed.Message.ShouldContain($"AgentStack:EventStore:{key} is '{configured}': use a whole number of megabytes from {range}.");
    }
}
