using AgentStack.Erasure.Keys;
using AgentStack.Events;
using AgentStack.Projections.Analytics;
using AgentStack.Projections.Retention;
using AgentStack.Projections.Findings;
using AgentStack.Projections.Running;
using AgentStack.Projections.Security;
using AgentStack.Projections.Spans;
using AgentStack.Projections.Spans.Rebuilding;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentStack.Projections;

public static class ProjectionsRegistration
{
    /// <summary>The key of the analytics runner's thread (<see cref="ProjectionOptions.AnalyticsPriority"/>).</summary>
    private const string AnalyticsScheduler = "analytics";

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
        services.AddSingleton<ProjectionControl>();
        if (runWorkers && options.Nice > 0)
            services.AddSingleton(_ => new PriorityScheduler(options.Threads, options.Nice));
        if (runWorkers && options.AnalyticsPriority > 0)
            services.AddKeyedSingleton(AnalyticsScheduler, (_, _) => new PriorityScheduler(1, -options.AnalyticsPriority, "analytics"));
        services.AddSingleton<ICheckpointStore, AnalyticsCheckpointStore>();
        services.AddSingleton(sp => new RetentionPolicies(sp.GetRequiredService<IEventStore>(), sp.GetService<TimeProvider>() ?? TimeProvider.System));
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
            // The tables the dashboard and the API read run level with the event store's writer: "queryable within a
            // second" is their promise; the other runners yield the CPU to ingestion (docs/projections.md, "Ingestion first").
            services.AddProjectionRunner<SpansProjection>(RunnerThreads.Analytics);
            // Rebuilds run where the live runner runs, as they hold it to switch tables (issue 14.6). Where
            // workers share the log across processes, or tables live on a cluster, the operations endpoint
            // refuses a rebuild (docs/projections.md).
            services.AddSingleton(sp => new SpansRebuild(sp.GetRequiredService<IAnalyticsStore>(), sp.GetRequiredService<IEventStore>(),
                sp.GetRequiredService<ICheckpointStore>(), sp.GetRequiredService<ProjectionProgress>(),
                sp.GetRequiredService<ProjectionControl>(), options, sp.GetService<TimeProvider>() ?? TimeProvider.System,
                sp.GetRequiredService<ILogger<SpansRebuild>>(), sp.GetRequiredService<SubjectKeyring>(),
                sp.GetRequiredService<RetentionPolicies>()));
            services.AddHostedService(sp => sp.GetRequiredService<SpansRebuild>());
            // Issue 15: the security findings (guard blocks) into their analytics table, with their own checkpoint.
            services.AddSingleton<SecurityFindingsProjection>();
            services.AddProjectionRunner<SecurityFindingsProjection>();
            // Issue 15.5: every finding event (detections, guard blocks, anomalies) into `findings`, with its own checkpoint.
            services.AddSingleton<FindingsProjection>();
            services.AddProjectionRunner<FindingsProjection>();
        }
        if (!runWorkers || options.SharesWork || options.Partitions > 1)
            services.AddHostedService<CheckpointProgressPoller>();
        return services;
    }

    /// <summary>
    /// Runs the singleton <typeparamref name="TProjection"/> with its own checkpoint, on the parts of the log this
    /// process's leases give it, like the analytics projection (needs <see cref="AddAnalyticsProjections"/> with workers).
    /// Registered as <see cref="IHostedService"/>, not with AddHostedService: that one skips a second
    /// <see cref="ProjectionRunner"/> (TryAddEnumerable by type).
    /// </summary>
    /// <param name="threads">Which threads it runs on (docs/projections.md, "Ingestion first").</param>
    public static IServiceCollection AddProjectionRunner<TProjection>(this IServiceCollection services,
        RunnerThreads threads = RunnerThreads.Background)
        where TProjection : class, IProjection =>
        services.AddSingleton<IHostedService>(sp => NewRunner(sp, sp.GetRequiredService<TProjection>(),
            sp.GetRequiredService<ICheckpointStore>(), sp.GetRequiredService<IProjectionLeases>(), sp.GetRequiredService<ProjectionOptions>(),
            threads));

    /// <summary>A runner of <paramref name="projection"/> from the registered machinery, with the given checkpoints, leases and options.</summary>
    public static ProjectionRunner NewRunner(IServiceProvider sp, IProjection projection, ICheckpointStore checkpoints,
        IProjectionLeases leases, ProjectionOptions options, RunnerThreads threads = RunnerThreads.Background) =>
        new(projection, sp.GetRequiredService<IEventStore>(), checkpoints, leases, sp.GetRequiredService<ProjectionProgress>(),
            sp.GetRequiredService<IProjectionNotifier>(), sp.GetService<TimeProvider>() ?? TimeProvider.System,
            sp.GetRequiredService<ILogger<ProjectionRunner>>(), options, sp.GetRequiredService<ProjectionControl>(),
            threads == RunnerThreads.Background ? sp.GetService<PriorityScheduler>() : sp.GetKeyedService<PriorityScheduler>(AnalyticsScheduler));

    // The cluster name comes from AgentStack:Analytics (AnalyticsRegistration); without it, plain tables.
    private sealed class AnalyticsSchemaInitializer(IAnalyticsStore analytics, IOptions<AnalyticsOptions> options) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            var cluster = options.Value.Cluster;
            // A single ClickHouse (chDB or a server) may hold the traces table of before issue 13.4.
            var upgrade = cluster is null && await TablesExistAsync(cancellationToken) && await TracesUpgrade.MoveAsideAsync(analytics, cancellationToken);
            await AnalyticsSchema.ApplyAsync(analytics, cluster, cancellationToken);
            if (upgrade)
                await TracesUpgrade.FillAsync(analytics, cancellationToken);
            await RetentionTables.UpgradeAsync(analytics, cluster, cancellationToken);
            await SpansSchema.TuneMergesAsync(analytics, cluster, cancellationToken);
            // Issue 15.6: the detector's version became part of a finding's key.
            if (cluster is null)
                await SecurityFindingsUpgrade.ApplyAsync(analytics, cancellationToken);
        }

        private async Task<bool> TablesExistAsync(CancellationToken cancellationToken) =>
            (await analytics.QueryAsync("SELECT name FROM system.databases WHERE name = 'agentstack'", null, "TabSeparated", cancellationToken)).Length > 0;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
