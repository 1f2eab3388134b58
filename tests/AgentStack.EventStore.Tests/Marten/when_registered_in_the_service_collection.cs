using AgentStack.EventStore.Marten;
using AgentStack.Events;
using Microsoft.Extensions.DependencyInjection;

namespace AgentStack.EventStore.Tests.Marten;

public sealed class when_registered_in_the_service_collection(PostgresSchema<when_registered_in_the_service_collection> schema)
    : IClassFixture<PostgresSchema<when_registered_in_the_service_collection>>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task then_one_store_serves_every_resolve_and_is_disposed_with_the_container()
    {
        var stream = TestEvents.NewStream("di");
        IEventStore store;
        await using (var provider = new ServiceCollection()
            .AddMartenEventStore(PostgresSchema<when_registered_in_the_service_collection>.ConnectionString, schema.Name)
            .BuildServiceProvider())
        {
            store = provider.GetRequiredService<IEventStore>();
            provider.GetRequiredService<IEventStore>().ShouldBeSameAs(store);
            store.ShouldBeOfType<MartenEventStore>();
            await store.AppendAsync(stream, StreamAppend.NoStream, TestEvents.Numbered(1), Ct);
        }

        await Should.ThrowAsync<EventStoreUnavailableException>(() =>
            store.AppendAsync(stream, StreamAppend.Any, TestEvents.Numbered(1), Ct));
        await using var reopened = schema.OpenStore();
        (await reopened.ReadStream(stream)).Count.ShouldBe(1);
    }

    [Fact]
    public void then_a_schema_name_that_is_not_a_plain_identifier_is_refused() =>
        Should.Throw<ArgumentException>(() => new MartenEventStore(
            new MartenEventStoreOptions(PostgresSchema<when_registered_in_the_service_collection>.ConnectionString, "x; DROP TABLE y"),
            TimeProvider.System));
}
