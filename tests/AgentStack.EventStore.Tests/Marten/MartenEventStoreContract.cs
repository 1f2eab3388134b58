using AgentStack.Events;

namespace AgentStack.EventStore.Tests.Marten;

public sealed class MartenEventStoreContract(PostgresSchema<MartenEventStoreContract> schema)
    : EventStoreContract, IClassFixture<PostgresSchema<MartenEventStoreContract>>
{
    protected override ValueTask<IEventStore> CreateStoreAsync() => ValueTask.FromResult<IEventStore>(schema.OpenStore());
}
