using AgentStack.Events;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace AgentStack.EventStore.Marten;

public static class MartenEventStoreServiceCollectionExtensions
{
    /// <summary>
    /// The PostgreSQL event store as the singleton <see cref="IEventStore"/> (issue 4). The container
    /// disposes it at shutdown, after the server has drained its requests, so queued appends commit.
    /// </summary>
    public static IServiceCollection AddMartenEventStore(this IServiceCollection services, string connectionString,
        string schema = "agentstack")
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        ArgumentException.ThrowIfNullOrWhiteSpace(schema);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(new MartenEventStoreOptions(connectionString, schema));
        services.AddSingleton<MartenEventStore>();
        services.AddSingleton<IEventStore>(provider => provider.GetRequiredService<MartenEventStore>());
        return services;
    }
}
