using AgentStack.Commands;
using AgentStack.Commands.Bus;
using AgentStack.EventStore.Marten;
using AgentStack.EventStore.Sqlite;
using AgentStack.Events;
using AgentStack.Otlp;
using AgentStack.Projections;
using AgentStack.Projections.Analytics;
using AgentStack.Projections.Analytics.ChDb;
using AgentStack.Queries;
using AgentStack.ServiceDefaults;

namespace AgentStack.Server;

/// <summary>
/// The embedded default (ARCHITECTURE.md, two ways to run): SQLite event log, chDB analytics and the
/// in-memory bus, all under <c>AgentStack:DataDirectory</c> (default <c>./.data</c>).
/// </summary>
public static class EmbeddedAgentStack
{
    public static WebApplicationBuilder AddEmbeddedAgentStack(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var dataDirectory = Path.GetFullPath(configuration["AgentStack:DataDirectory"] is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.CurrentDirectory, ".data"));
        Directory.CreateDirectory(dataDirectory);

        var services = builder.Services;
        services.AddSingleton(TimeProvider.System);
        AddEventStore(services, configuration, dataDirectory);
        services.AddAccess(Path.Combine(dataDirectory, "access.db"));
        services.AddCollector(configuration);
        services.AddOtlp(configuration);
        services.AddAnalytics(configuration, o =>
        {
            configuration.GetSection("AgentStack:ChDb").Bind(o);
            o.DataPath = Path.Combine(dataDirectory, "clickhouse");
        });
        services.AddAnalyticsProjections(configuration);
        services.AddQueries();
        services.AddAgentStackBus(configuration, (bus, options) => bus.AddRecordSpans(options.RunHandlers));

        services.AddReadyCheck("event-store", (sp, ct) => sp.GetRequiredService<IEventStore>().GetLastPositionAsync(ct));
        services.AddReadyCheck("analytics", (sp, ct) =>
            sp.GetRequiredService<IAnalyticsStore>().QueryAsync("SELECT 1", null, "TabSeparated", ct));
        return builder;
    }

    /// <summary>
    /// <c>AgentStack:EventStore:Provider</c>: <c>Sqlite</c> (default, <c>events.db</c> in the data directory) or
    /// <c>Marten</c> (PostgreSQL, connection string <c>Postgres</c>, schema <c>AgentStack:EventStore:Schema</c>).
    /// </summary>
    private static void AddEventStore(IServiceCollection services, IConfiguration configuration, string dataDirectory)
    {
        var provider = configuration["AgentStack:EventStore:Provider"] ?? "Sqlite";
        switch (provider.ToUpperInvariant())
        {
            case "SQLITE":
                services.AddSqliteEventStore(Path.Combine(dataDirectory, "events.db"));
                break;
            case "MARTEN":
                var connection = configuration.GetConnectionString("Postgres")
                    ?? throw new InvalidOperationException(
                        "AgentStack:EventStore:Provider is Marten but ConnectionStrings:Postgres is not set (e.g. Host=localhost;Username=postgres;Password=…;Database=agentstack).");
                services.AddMartenEventStore(connection, configuration["AgentStack:EventStore:Schema"] ?? "agentstack");
                break;
            default:
                throw new InvalidOperationException($"AgentStack:EventStore:Provider '{provider}' is unknown: use Sqlite or Marten.");
        }
    }
}
