using AgentStack.Events;
using Npgsql;

namespace AgentStack.EventStore.Tests.Marten;

public sealed class when_postgres_is_unavailable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    // A port nothing listens on: connection refused at once, as when PostgreSQL is down.
    private static readonly string Unreachable = new NpgsqlConnectionStringBuilder(PostgresSchema<when_postgres_is_unavailable>.ConnectionString)
    {
        Port = 1, Timeout = 3,
    }.ConnectionString;

    [Fact]
    public async Task then_appends_fail_as_unavailable_not_as_success()
    {
        await using var store = new PostgresSchema<when_postgres_is_unavailable>().OpenStore(connectionString: Unreachable);

        await Should.ThrowAsync<EventStoreUnavailableException>(() =>
            store.AppendAsync(TestEvents.NewStream("down"), StreamAppend.NoStream, TestEvents.Numbered(1), Ct));
    }

    [Fact]
    public async Task then_reads_fail_as_unavailable()
    {
        await using var store = new PostgresSchema<when_postgres_is_unavailable>().OpenStore(connectionString: Unreachable);

        await Should.ThrowAsync<EventStoreUnavailableException>(() => store.GetLastPositionAsync(Ct));
        await Should.ThrowAsync<EventStoreUnavailableException>(() => store.ReadAllAsync(0, 10, Ct));
        await Should.ThrowAsync<EventStoreUnavailableException>(() => store.ReadStream(TestEvents.NewStream("down")));
    }
}
