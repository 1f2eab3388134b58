using AgentStack.Events;
using AgentStack.Projections.Analytics;
using AgentStack.Projections.Running;
using AgentStack.Projections.Security;
using AgentStack.Projections.Spans;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentStack.Projections;

public static class ProjectionsRegistration
{
    /// <summary>
    /// The analytics tables with their checkpoints in ClickHouse and, where <paramref name="runWorkers"/>,
    /// the projection worker that fills them (section <c>AgentStack:Projections</c>). A host that only
    /// reads (the queries host) or whose worker shares the log with others follows the saved checkpoints.
    /// The schema is applied before the worker starts: hosted services start in registration order.
    /// </summary>
    public static IServiceCollection AddAnalyticsProjections(this IServiceCollection services, IConfiguration configuration,
        bool runWorkers = true)
    {
        var options = configuration.GetSection(ProjectionOptions.Section).Get<ProjectionOptions>() ?? new ProjectionOptions();
        options.Validate();
        services.AddSingleton(options);
        services.AddSingleton<ProjectionProgress>();
        services.AddSingleton<ICheckpointStore, AnalyticsCheckpointStore>();
        services.AddHostedService<AnalyticsSchemaInitializer>();
        if (runWorkers)
        {
            services.AddSingleton<SpansProjection>();
            services.TryAddSingleton<IProjectionNotifier, NoProjectionNotifier>();
            services.AddSingleton<IProjectionLeases>(_ => options.SharesWork
                ? new PostgresProjectionLeases(configuration.GetConnectionString("Postgres")
                    ?? throw new InvalidOperationException(
                        $"{ProjectionOptions.Section}:Leases is Postgres but ConnectionStrings:Postgres is not set."), options)
                : new SoleWorkerLeases());
            services.AddHostedService(sp => new ProjectionRunner(sp.GetRequiredService<SpansProjection>(),
                sp.GetRequiredService<IEventStore>(), sp.GetRequiredService<ICheckpointStore>(),
                sp.GetRequiredService<IProjectionLeases>(), sp.GetRequiredService<ProjectionProgress>(),
                sp.GetRequiredService<IProjectionNotifier>(), sp.GetService<TimeProvider>() ?? TimeProvider.System,
                sp.GetRequiredService<ILogger<ProjectionRunner>>(), options));
            // Issue 15: the security findings (guard blocks) into their analytics table, with their own checkpoint.
            // AddSingleton, not AddHostedService: that one skips a second ProjectionRunner (TryAddEnumerable by type).
            services.AddSingleton<SecurityFindingsProjection>();
            services.AddSingleton<IHostedService>(sp => new ProjectionRunner(sp.GetRequiredService<SecurityFindingsProjection>(),
                sp.GetRequiredService<IEventStore>(), sp.GetRequiredService<ICheckpointStore>(),
                sp.GetRequiredService<IProjectionLeases>(), sp.GetRequiredService<ProjectionProgress>(),
                sp.GetRequiredService<IProjectionNotifier>(), sp.GetService<TimeProvider>() ?? TimeProvider.System,
                sp.GetRequiredService<ILogger<ProjectionRunner>>(), options));
        }
        if (!runWorkers || options.SharesWork || options.Partitions > 1)
            services.AddHostedService<CheckpointProgressPoller>();
        return services;
    }

    // The cluster name comes from AgentStack:Analytics (AnalyticsRegistration); without it, plain tables.
    private sealed class AnalyticsSchemaInitializer(IAnalyticsStore analytics, IOptions<AnalyticsOptions> options) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) =>
            AnalyticsSchema.ApplyAsync(analytics, options.Value.Cluster, cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
