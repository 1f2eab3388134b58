using AgentStack.Projections.Running;

namespace AgentStack.Projections.Tests.Leasing;

/// <summary>The lease schema is spliced into SQL; "$" in its pattern also matched before a final line feed.</summary>
public sealed class when_a_lease_schema_ends_in_a_line_feed
{
    [Fact]
    public void then_the_leases_refuse_it() =>
        Should.Throw<InvalidOperationException>(() => new PostgresProjectionLeases(
            "Host=127.0.0.1;Port=1;Username=postgres;Database=postgres", new ProjectionOptions { LeaseSchema = "agentstack\n" }));
}
