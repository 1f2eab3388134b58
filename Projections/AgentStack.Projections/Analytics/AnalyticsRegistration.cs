using AgentStack.Projections.Analytics.ChDb;
using AgentStack.Projections.Analytics.ClickHouse;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AgentStack.Projections.Analytics;

public static class AnalyticsRegistration
{
    /// <summary>
    /// Registers the process's <see cref="IAnalyticsStore"/> by configuration (issue 4):
    /// <c>AgentStack:Analytics:Provider</c> = <c>ChDb</c> (default; <paramref name="configureChDb"/> applies)
    /// or <c>ClickHouse</c> (a server at <c>ConnectionStrings:ClickHouse</c>), and
    /// <c>AgentStack:Analytics:Cluster</c> for the cluster DDL. Misconfiguration fails here, at start-up,
    /// naming the key.
    /// </summary>
    public static IServiceCollection AddAnalytics(this IServiceCollection services, IConfiguration configuration, Action<ChDbOptions> configureChDb)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(configureChDb);

        var section = configuration.GetSection(AnalyticsOptions.SectionName);
        var options = new AnalyticsOptions();
        var provider = section[nameof(AnalyticsOptions.Provider)];
        if (!string.IsNullOrWhiteSpace(provider))
        {
            options.Provider = Enum.TryParse<AnalyticsProvider>(provider, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed)
                ? parsed
                : throw new InvalidOperationException(
                    $"{AnalyticsOptions.SectionName}:{nameof(AnalyticsOptions.Provider)} is '{provider}'; expected ChDb or ClickHouse.");
        }

        options.Cluster = section[nameof(AnalyticsOptions.Cluster)] is { Length: > 0 } cluster ? cluster.Trim() : null;
        if (options.Cluster is not null)
        {
            AnalyticsSchema.ValidateClusterName(options.Cluster);
            if (options.Provider != AnalyticsProvider.ClickHouse)
            {
                throw new InvalidOperationException(
                    $"{AnalyticsOptions.SectionName}:{nameof(AnalyticsOptions.Cluster)} is set to '{options.Cluster}', which needs " +
                    $"{AnalyticsOptions.SectionName}:{nameof(AnalyticsOptions.Provider)}=ClickHouse (chDB is one engine in one process).");
            }
        }

        services.AddOptions<AnalyticsOptions>().Configure(o =>
        {
            o.Provider = options.Provider;
            o.Cluster = options.Cluster;
        });

        if (options.Provider == AnalyticsProvider.ChDb)
        {
            return services.AddChDbAnalytics(configureChDb);
        }

        var connectionString = configuration.GetConnectionString(AnalyticsOptions.ConnectionStringName);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException(
                $"{AnalyticsOptions.SectionName}:{nameof(AnalyticsOptions.Provider)}=ClickHouse needs ConnectionStrings:{AnalyticsOptions.ConnectionStringName} " +
                "(e.g. Host=clickhouse;Port=8123;Username=default;Password=…), which is missing.");
        }

        // On a cluster, an INSERT into a Distributed table returns before the rows reach the shards unless
        // asked to wait; the checkpoint saved after it promises that the rows are queryable
        // (/api/projections/analytics/wait), so it must wait.
        var settings = options.Cluster is null
            ? null
            : new Dictionary<string, object> { ["distributed_foreground_insert"] = 1 };
        services.AddSingleton(_ => new ClickHouseAnalyticsStore(connectionString, settings));
        services.AddSingleton<IAnalyticsStore>(sp => sp.GetRequiredService<ClickHouseAnalyticsStore>());
        return services;
    }
}
