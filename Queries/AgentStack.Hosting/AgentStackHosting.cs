using AgentStack.Audit;
using AgentStack.Anomalies;
using AgentStack.Anomalies.Alerting;
using AgentStack.Commands;
using AgentStack.Access;
using AgentStack.Access.Administering;
using AgentStack.Access.SigningIn;
using AgentStack.Commands.Bus;
using AgentStack.Commands.Guarding;
using AgentStack.Commands.Spans.Ingesting;
using AgentStack.Erasure;
using AgentStack.EventStore.Common;
using AgentStack.EventStore.Marten;
using AgentStack.EventStore.Sqlite;
using AgentStack.Events;
using AgentStack.Hosting.Protecting;
using AgentStack.Otlp;
using AgentStack.Projections;
using AgentStack.Projections.Analytics;
using AgentStack.Projections.Analytics.ChDb;
using AgentStack.Projections.Running;
using AgentStack.Queries;
using AgentStack.Security.Projections;
using AgentStack.Queries.Dashboard;
using AgentStack.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AgentStack.Hosting;

/// <summary>What a host runs (issue 4: three thin hosts plus the all-in-one server).</summary>
[Flags]
public enum AgentStackRoles
{
    /// <summary>The collector (<c>/v1/spans</c>, OTLP) and, unless <c>AgentStack:Bus:RunHandlers</c> is false, the command handlers.</summary>
    Commands = 1,

    /// <summary>The projection worker that fills the analytics tables from the log.</summary>
    Projections = 2,

    /// <summary>The query API, the project/key admin API and the dashboard.</summary>
    Queries = 4,

    All = Commands | Projections | Queries,
}

/// <summary>
/// The composition every host shares. Adapters are chosen by configuration (docs/architecture.md, two ways
/// to run): with no configuration at all this is the embedded default (SQLite event log, chDB analytics
/// and the in-memory bus, under <c>AgentStack:DataDirectory</c>, default <c>./.data</c>).
/// </summary>
public static class AgentStackHosting
{
    public static WebApplicationBuilder AddAgentStack(this WebApplicationBuilder builder, AgentStackRoles roles)
    {
        var configuration = builder.Configuration;
        var dataDirectory = Path.GetFullPath(configuration["AgentStack:DataDirectory"] is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.CurrentDirectory, ".data"));
        Directory.CreateDirectory(dataDirectory);

        var services = builder.Services;
        services.AddSingleton(TimeProvider.System);
        AddEventStore(services, configuration, dataDirectory);
        // Payloads sealed on append and opened on read; the adapter as stored stays RawEventStore (issue 14).
        services.AddErasure(ErasureConfiguration.From(configuration, dataDirectory));
        services.AddReadyCheck("event-store", (sp, ct) => sp.GetRequiredService<IEventStore>().GetLastPositionAsync(ct));

        if (roles.HasFlag(AgentStackRoles.Commands) || roles.HasFlag(AgentStackRoles.Queries))
        {
            services.AddAccess(configuration, dataDirectory);
            services.AddHttpProtection(configuration);
        }

        if (roles.HasFlag(AgentStackRoles.Commands))
        {
            services.AddCollector(configuration);
            services.AddOtlp(configuration);
        }

        // The bus: commands for the commands role, integration events out of the projections role.
        if (roles.HasFlag(AgentStackRoles.Commands) || roles.HasFlag(AgentStackRoles.Projections))
        {
            services.AddAgentStackBus(configuration, (bus, options) =>
            {
                if (roles.HasFlag(AgentStackRoles.Commands))
                    bus.AddRecordSpans(options);
            });
        }
        if (roles.HasFlag(AgentStackRoles.Projections))
            services.AddSingleton<IProjectionNotifier, BusProjectionNotifier>();

        if (roles.HasFlag(AgentStackRoles.Projections) || roles.HasFlag(AgentStackRoles.Queries))
        {
            services.AddAnalytics(configuration, o =>
            {
                configuration.GetSection("AgentStack:ChDb").Bind(o);
                o.DataPath = Path.Combine(dataDirectory, "clickhouse");
            });
            services.AddAnalyticsProjections(configuration, runWorkers: roles.HasFlag(AgentStackRoles.Projections));
            if (roles.HasFlag(AgentStackRoles.Projections))
                services.AddDetections(configuration); // issue 15: detectors over recorded spans
            // Issue 15, points 3 and 7: the anomaly projection and the alert dispatcher (docs/anomalies-and-alerts.md).
            if (roles.HasFlag(AgentStackRoles.Projections))
            {
                services.AddSingleton<IAlertPublisher, BusAlertPublisher>();
                services.AddAnomalies(configuration);
            }
            services.AddReadyCheck("analytics", (sp, ct) =>
                sp.GetRequiredService<IAnalyticsStore>().QueryAsync("SELECT 1", null, "TabSeparated", ct));
        }

        if (roles.HasFlag(AgentStackRoles.Queries))
        {
            services.AddQueries();
            services.AddAudit(configuration, dataDirectory, runCheckpoints: true);
        }
        return builder;
    }

    /// <summary>The endpoints of <paramref name="roles"/>, after the service defaults (health, OpenAPI).</summary>
    public static WebApplication MapAgentStack(this WebApplication app, AgentStackRoles roles)
    {
        var keyed = roles.HasFlag(AgentStackRoles.Commands) || roles.HasFlag(AgentStackRoles.Queries);
        if (keyed)
            app.UseHttpProtection();
        app.MapServiceDefaults();
        if (keyed)
        {
            app.UseAuthentication();
            app.UseTenantLimits();
            app.UseAuthorization();
        }
        if (roles.HasFlag(AgentStackRoles.Commands))
        {
            app.MapCollector();
            app.MapGuard();
            app.MapOtlp();
        }
        if (roles.HasFlag(AgentStackRoles.Queries))
        {
            app.MapQueries();
            app.MapAudit();
            app.MapAccess();
            app.MapAlertRules();
            app.MapDashboardSignIn();
            // Last: the dashboard's SPA fallback answers whatever no endpoint above did.
            app.MapDashboard();
        }
        return app;
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
                services.AddSqliteEventStore(new SqliteEventStoreOptions(Path.Combine(dataDirectory, "events.db"))
                {
                    WriterPriority = WholeNumber(configuration, "AgentStack:EventStore:WriterPriority", SqliteEventStoreOptions.DefaultWriterPriority,
                        steps => steps is >= 0 and <= GroupCommitQueue.MaxWriterPriority, $"a whole number of nice steps from 0 to {GroupCommitQueue.MaxWriterPriority}"),
                    PageSize = WholeNumber(configuration, "AgentStack:EventStore:PageSize", SqliteEventStoreOptions.DefaultPageSize,
                        SqliteEventStoreOptions.IsPageSize, $"a power of two from {SqliteEventStoreOptions.MinPageSize} to {SqliteEventStoreOptions.MaxPageSize} (bytes)"),
                    WalRestartSize = (long)WholeNumber(configuration, "AgentStack:EventStore:WalRestartMegabytes",
                        (int)(SqliteEventStoreOptions.DefaultWalRestartSize >> 20), megabytes => megabytes is >= 1 and <= 1 << 20,
                        "a whole number of megabytes from 1 to 1048576") << 20,
                    CachedTail = (long)WholeNumber(configuration, "AgentStack:EventStore:CachedTailMegabytes",
                        (int)(SqliteEventStoreOptions.DefaultCachedTail >> 20), megabytes => megabytes is >= 0 and <= 1 << 20,
                        "a whole number of megabytes from 0 to 1048576") << 20,
                });
                break;
            case "MARTEN":
                var connection = configuration.GetConnectionString("Postgres")
                    ?? throw new InvalidOperationException(
                        "AgentStack:EventStore:Provider is Marten but ConnectionStrings:Postgres is not set (e.g. Host=localhost;Username=postgres;Password=…;Database=agentstack).");
                services.AddMartenEventStore(connection,
                    PostgresIdentifier.Require(configuration["AgentStack:EventStore:Schema"] ?? "agentstack", "AgentStack:EventStore:Schema"));
                break;
            default:
                throw new InvalidOperationException($"AgentStack:EventStore:Provider '{provider}' is unknown: use Sqlite or Marten.");
        }
    }

    /// <summary>
    /// The PostgreSQL schema at the first of <paramref name="keys"/> set, else <c>agentstack</c>. The stores' SQL takes it
    /// unquoted: a name it cannot take stops the host, naming the key that set it (docs/distributed.md, "Schema names").
    /// </summary>
    internal static string PostgresSchema(IConfiguration configuration, params string[] keys)
    {
        foreach (var key in keys)
            if (configuration[key] is { Length: > 0 } schema)
                return PostgresIdentifier.Require(schema, key);
        return "agentstack";
    }

    /// <summary>The whole number at <paramref name="key"/>, its default when unset; a value it does not allow stops the host.</summary>
    private static int WholeNumber(IConfiguration configuration, string key, int defaultValue, Func<int, bool> allows, string expected)
    {
        var text = configuration[key];
        if (text is null)
            return defaultValue;
        if (!int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var value)
            || !allows(value))
            throw new InvalidOperationException($"{key} is '{text}': use {expected}.");
        return value;
    }
}
