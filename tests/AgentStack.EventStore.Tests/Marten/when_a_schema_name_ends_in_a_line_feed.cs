using AgentStack.Access.Marten;
using AgentStack.Erasure.Keys;
using AgentStack.EventStore.Marten;

namespace AgentStack.EventStore.Tests.Marten;

/// <summary>
/// A schema name is spliced into SQL, so each PostgreSQL store checks it is a plain identifier; "$" in those
/// patterns also matched before a final line feed. Each store refuses the name before it connects.
/// </summary>
public sealed class when_a_schema_name_ends_in_a_line_feed
{
    private const string Schema = "agentstack\n";
    private const string Unreachable = "Host=127.0.0.1;Port=1;Username=postgres;Database=postgres";

    [Fact]
    public void then_the_event_store_refuses_it() =>
        Should.Throw<ArgumentException>(() => new MartenSchema(Schema));

    [Fact]
    public void then_the_access_store_refuses_it() =>
        Should.Throw<ArgumentException>(() => new MartenAccessStore(new MartenAccessStoreOptions(Unreachable, Schema), TimeProvider.System));

    [Fact]
    public void then_the_key_store_refuses_it() =>
        Should.Throw<ArgumentException>(() => new PostgresSubjectKeyStore(Unreachable, Schema, KeyWrapping.None));
}
