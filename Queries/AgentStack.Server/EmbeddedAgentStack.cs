using AgentStack.Commands;
using AgentStack.Commands.Bus;
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
        services.AddSqliteEventStore(Path.Combine(dataDirectory, "events.db"));
        services.AddAccess(Path.Combine(dataDirectory, "access.db"));
        services.AddCollector(configuration);
        services.AddOtlp(configuration);
        services.AddChDbAnalytics(o =>
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
}
