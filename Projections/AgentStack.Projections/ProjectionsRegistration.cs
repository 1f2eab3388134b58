using AgentStack.Events;
using AgentStack.Projections.Analytics;
using AgentStack.Projections.Running;
using AgentStack.Projections.Spans;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentStack.Projections;

public static class ProjectionsRegistration
{
    /// <summary>
    /// The analytics projection (spans and traces tables) with its checkpoints in ClickHouse.
    /// The schema is applied before the runner starts: hosted services start in registration order.
    /// </summary>
    public static IServiceCollection AddAnalyticsProjections(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ProjectionOptions>().Bind(configuration.GetSection(ProjectionOptions.Section));
        services.AddSingleton<ProjectionProgress>();
        services.AddSingleton<ICheckpointStore, AnalyticsCheckpointStore>();
        services.AddSingleton<SpansProjection>();
        services.AddHostedService<AnalyticsSchemaInitializer>();
        services.AddHostedService(sp => new ProjectionRunner(sp.GetRequiredService<SpansProjection>(),
            sp.GetRequiredService<IEventStore>(), sp.GetRequiredService<ICheckpointStore>(),
            sp.GetRequiredService<ProjectionProgress>(), sp.GetRequiredService<ILogger<ProjectionRunner>>(),
            sp.GetRequiredService<IOptions<ProjectionOptions>>().Value));
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
