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
    /// <param name="writerPriority">Nice steps above the process's priority for the writer thread (<see cref="SqliteEventStoreOptions.WriterPriority"/>).</param>
    public static IServiceCollection AddSqliteEventStore(this IServiceCollection services, string databasePath,
        int writerPriority = SqliteEventStoreOptions.DefaultWriterPriority)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(databasePath);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(new SqliteEventStoreOptions(databasePath) { WriterPriority = writerPriority });
        services.AddSingleton<SqliteEventStore>();
        services.AddSingleton<IEventStore>(provider => provider.GetRequiredService<SqliteEventStore>());
        return services;
    }
}
