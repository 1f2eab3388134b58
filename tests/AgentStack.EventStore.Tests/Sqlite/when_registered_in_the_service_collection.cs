using AgentStack.EventStore.Sqlite;
using AgentStack.Events;
using Microsoft.Extensions.DependencyInjection;

namespace AgentStack.EventStore.Tests.Sqlite;

public sealed class when_registered_in_the_service_collection(
    SqliteDatabaseFolder<when_registered_in_the_service_collection> folder)
    : IClassFixture<SqliteDatabaseFolder<when_registered_in_the_service_collection>>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task then_one_store_serves_every_resolve_and_is_disposed_with_the_container()
    {
        var stream = TestEvents.NewStream("di");
        IEventStore store;
        await using (var provider = new ServiceCollection().AddSqliteEventStore(folder.DatabasePath).BuildServiceProvider())
        {
            store = provider.GetRequiredService<IEventStore>();
            provider.GetRequiredService<IEventStore>().ShouldBeSameAs(store);
            store.ShouldBeOfType<SqliteEventStore>();
            await store.AppendAsync(stream, StreamAppend.NoStream, TestEvents.Numbered(1), Ct);
        }

        await Should.ThrowAsync<EventStoreUnavailableException>(() =>
            store.AppendAsync(stream, StreamAppend.Any, TestEvents.Numbered(1), Ct));
        await using var reopened = folder.OpenStore();
        (await reopened.ReadStream(stream)).Count.ShouldBe(1);
    }
}
