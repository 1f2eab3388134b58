using AgentStack.Testing;

namespace AgentStack.EndToEndTests.Operating;

/// <summary>
/// <c>AgentStack:EventStore:WalRestartMegabytes</c> (docs/event-store.md, "The WAL's size"): a value the store does not
/// take stops the server at start with the key to fix.
/// </summary>
public sealed class when_the_wal_restart_size_is_configured
{
    [Theory]
    [InlineData("0")]
    [InlineData("64MB")]
    public async Task then_a_size_out_of_range_is_named_at_start(string configured)
    {
        var failed = await Should.ThrowAsync<InvalidOperationException>(() => ServerProcess.StartAsync(new()
        {
            ["AgentStack__EventStore__WalRestartMegabytes"] = configured,
        }));

        failed.Message.ShouldContain($"AgentStack:EventStore:WalRestartMegabytes is '{configured}': use a whole number of megabytes from 1 to 1048576.");
    }
}
