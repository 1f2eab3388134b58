using AgentStack.Testing;

namespace AgentStack.EndToEndTests.Distributed;

/// <summary>Issue 4: a wrong access configuration stops the server at start with the key to fix, not at the first request.</summary>
public sealed class when_the_access_provider_is_misconfigured
{
    [Fact]
    public async Task then_marten_without_a_connection_string_names_the_missing_setting()
    {
        var failed = await Should.ThrowAsync<InvalidOperationException>(() => ServerProcess.StartAsync(new()
        {
            ["AgentStack__Access__Provider"] = "Marten",
            // Empty, so a ConnectionStrings__Postgres inherited from the test environment does not count.
            ["ConnectionStrings__Postgres"] = "",
        }));

        failed.Message.ShouldContain("AgentStack:Access:Provider is Marten but ConnectionStrings:Postgres is not set");
    }

    [Fact]
    public async Task then_an_unknown_provider_is_named()
    {
        var failed = await Should.ThrowAsync<InvalidOperationException>(() => ServerProcess.StartAsync(new()
        {
            ["AgentStack__Access__Provider"] = "Redis",
        }));

        failed.Message.ShouldContain("AgentStack:Access:Provider 'Redis' is unknown: use Sqlite or Marten.");
    }
}
