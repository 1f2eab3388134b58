using AgentStack.Access;
using Microsoft.Extensions.DependencyInjection;

namespace AgentStack.Access.Marten;

public static class MartenAccessServiceCollectionExtensions
{
    /// <summary>
    /// Projects and keys as Marten documents in PostgreSQL (issue 4), shared by every host with the same
    /// connection string and schema, behind the same authentication and lookup cache as the embedded default.
    /// </summary>
    public static IServiceCollection AddMartenAccess(this IServiceCollection services, string connectionString,
        string schema = "agentstack", string? pepper = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        ArgumentException.ThrowIfNullOrWhiteSpace(schema);
        services.AddSingleton(sp => new MartenAccessStore(new MartenAccessStoreOptions(connectionString, schema, pepper),
            sp.GetRequiredService<TimeProvider>()));
        return services.AddAccess<MartenAccessStore>();
    }
}
