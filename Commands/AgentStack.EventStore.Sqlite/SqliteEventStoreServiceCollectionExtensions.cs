using AgentStack.Events;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace AgentStack.EventStore.Sqlite;

public static class SqliteEventStoreServiceCollectionExtensions
{
    /// <summary>
    /// The embedded event store as the singleton <see cref="IEventStore"/>. The container disposes it
    /// when the host shuts down, after the server has drained its requests, so queued appends commit.
    /// </summary>
    public static IServiceCollection AddSqliteEventStore(this IServiceCollection services, string databasePath)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(databasePath);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(new SqliteEventStoreOptions(databasePath));
        services.AddSingleton<SqliteEventStore>();
        services.AddSingleton<IEventStore>(provider => provider.GetRequiredService<SqliteEventStore>());
        return services;
    }
}
