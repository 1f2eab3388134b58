using AgentStack.Events;

namespace AgentStack.EventStore.Tests;

public sealed class SqliteEventStoreContract(SqliteDatabaseFolder<SqliteEventStoreContract> folder)
    : EventStoreContract, IClassFixture<SqliteDatabaseFolder<SqliteEventStoreContract>>
{
    protected override ValueTask<IEventStore> CreateStoreAsync() => ValueTask.FromResult<IEventStore>(folder.OpenStore());
}
