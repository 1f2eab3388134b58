using AgentStack.Audit;

namespace AgentStack.Audit.Tests;

/// <summary>The checkpoint schema is spliced into SQL; "$" in its pattern also matched before a final line feed.</summary>
public sealed class when_a_checkpoint_schema_ends_in_a_line_feed
{
    [Fact]
    public void then_the_checkpoint_store_refuses_it() =>
        Should.Throw<ArgumentException>(() => new PostgresCheckpointStore(
            "Host=127.0.0.1;Port=1;Username=postgres;Database=postgres", "agentstack\n"));
}
