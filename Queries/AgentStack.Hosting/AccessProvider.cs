using AgentStack.Access.Marten;
using AgentStack.Access;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AgentStack.Hosting;

public static class AccessProvider
{
    /// <summary>
    /// Where projects and keys live, by <c>AgentStack:Access:Provider</c> (issue 4): <c>Sqlite</c> (default,
    /// <c>access.db</c> in the data directory, per process) or <c>Marten</c> (documents in PostgreSQL, shared
    /// by every host: connection string <c>Postgres</c>, schema <c>AgentStack:Access:Schema</c>, by default
    /// the event store's <c>AgentStack:EventStore:Schema</c>, else <c>agentstack</c>).
    /// </summary>
    public static IServiceCollection AddAccess(this IServiceCollection services, IConfiguration configuration, string dataDirectory)
    {
        var provider = configuration["AgentStack:Access:Provider"] ?? "Sqlite";
        // The pepper of the keyed secret hash (issue 17, docs/administration.md): from configuration or the
        // environment only, never from a file in the repository; without it each store keeps its own.
        var pepper = configuration["AgentStack:Access:Pepper"] is { Length: > 0 } configuredPepper ? configuredPepper : null;
        if (pepper is { Length: < 16 })
            throw new InvalidOperationException("AgentStack:Access:Pepper must be at least 16 characters.");
        switch (provider.ToUpperInvariant())
        {
            case "SQLITE":
                return services.AddAccess(Path.Combine(dataDirectory, "access.db"), pepper);
            case "MARTEN":
                var connection = configuration.GetConnectionString("Postgres") is { Length: > 0 } configured
                    ? configured
                    : throw new InvalidOperationException(
                        "AgentStack:Access:Provider is Marten but ConnectionStrings:Postgres is not set (e.g. Host=localhost;Username=postgres;Password=…;Database=agentstack).");
                var schema = AgentStackHosting.PostgresSchema(configuration, "AgentStack:Access:Schema", "AgentStack:EventStore:Schema");
                return services.AddMartenAccess(connection, schema, pepper);
            default:
                throw new InvalidOperationException($"AgentStack:Access:Provider '{provider}' is unknown: use Sqlite or Marten.");
        }
    }
}
