using AgentStack.Access.Marten;
using AgentStack.Access;
using AgentStack.EventStore.Tests.Marten;
using AgentStack.Events;

namespace AgentStack.EventStore.Tests.Access;

/// <summary>
/// By default the access documents go in the event store's schema (AgentStack:Access:Schema falls back to
/// AgentStack:EventStore:Schema). Two Marten document stores then manage one schema; hosts starting together
/// create both at once.
/// </summary>
public sealed class when_access_shares_the_log_schema(PostgresSchema<when_access_shares_the_log_schema> schema)
    : IClassFixture<PostgresSchema<when_access_shares_the_log_schema>>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task then_both_are_created_together_and_neither_disturbs_the_other()
    {
        await using var events = schema.OpenStore();
        await using var access = new MartenAccessStore(
            new MartenAccessStoreOptions(PostgresSchema<when_access_shares_the_log_schema>.ConnectionString, schema.Name),
            TimeProvider.System);
        var stream = TestEvents.NewStream("shared");

        await Task.WhenAll(
            events.AppendAsync(stream, StreamAppend.NoStream, TestEvents.Numbered(2), Ct),
            access.CreateKeyAsync("default", Scopes.All, Ct));

        (await events.ReadStream(stream)).Count.ShouldBe(2);
        (await access.ListKeysAsync("default", Ct)).ShouldHaveSingleItem();
        // A second access store over the same schema migrates nothing away from the log.
        await using var again = new MartenAccessStore(
            new MartenAccessStoreOptions(PostgresSchema<when_access_shares_the_log_schema>.ConnectionString, schema.Name),
            TimeProvider.System);
        await again.InitializeAsync(Ct);
        await events.AppendAsync(stream, 2, TestEvents.Numbered(1), Ct);
        (await events.ReadStream(stream)).Count.ShouldBe(3);
    }

    [Fact]
    public void then_a_schema_name_that_is_not_a_plain_identifier_is_refused() =>
        Should.Throw<ArgumentException>(() => new MartenAccessStore(
            new MartenAccessStoreOptions(PostgresSchema<when_access_shares_the_log_schema>.ConnectionString, "x; DROP TABLE y"),
            TimeProvider.System));
}
