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
    public static IServiceCollection AddSqliteEventStore(this IServiceCollection services, string databasePath) =>
        services.AddSqliteEventStore(new SqliteEventStoreOptions(databasePath));

    /// <inheritdoc cref="AddSqliteEventStore(IServiceCollection, string)"/>
    public static IServiceCollection AddSqliteEventStore(this IServiceCollection services, SqliteEventStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.DatabasePath);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(options);
        services.AddSingleton<SqliteEventStore>();
        services.AddSingleton<IEventStore>(provider => provider.GetRequiredService<SqliteEventStore>());
        return services;
    }
}
