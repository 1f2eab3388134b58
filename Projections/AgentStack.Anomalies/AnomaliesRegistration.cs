using AgentStack.Anomalies.Alerting;
using AgentStack.Anomalies.Detecting;
using AgentStack.Projections;
using AgentStack.Projections.Running;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace AgentStack.Anomalies;

public static class AnomaliesRegistration
{
    /// <summary>
    /// The anomaly projection and the alert dispatcher (issue 15, points 3 and 7), each run by a
    /// <see cref="ProjectionRunner"/> over the whole log as one part (baselines and rule windows need every
    /// event in order). Needs what <c>AddAnalyticsProjections</c> registers (options, progress, checkpoints).
    /// Sections <c>AgentStack:Anomalies</c> and <c>AgentStack:Alerts</c>.
    /// </summary>
    public static IServiceCollection AddAnomalies(this IServiceCollection services, IConfiguration configuration)
    {
        var baselines = configuration.GetSection(BaselineOptions.Section).Get<BaselineOptions>() ?? new BaselineOptions();
        baselines.Validate();
        services.AddSingleton(baselines);
        services.AddSingleton(configuration.GetSection(AlertOptions.Section).Get<AlertOptions>() ?? new AlertOptions());
        services.AddSingleton<AnomalyProjection>();
        services.TryAddSingleton<IAlertPublisher, NoAlertPublisher>();
        services.AddHttpClient<WebhookSender>();
        services.AddSingleton<AlertDispatcher>();
        // AddSingleton, not AddHostedService: the latter adds a factory's type only once (TryAddEnumerable),
        // and the analytics projection's ProjectionRunner is registered already.
        services.AddSingleton<IHostedService>(sp =>
        {
            var projection = sp.GetRequiredService<AnomalyProjection>();
            return Runner(sp, projection, new InMemoryCheckpoints(projection));
        });
        services.AddSingleton<IHostedService>(sp => Runner(sp, sp.GetRequiredService<AlertDispatcher>(), sp.GetRequiredService<ICheckpointStore>()));
        return services;
    }

    private static ProjectionRunner Runner(IServiceProvider sp, IProjection projection, ICheckpointStore checkpoints)
    {
        var shared = sp.GetRequiredService<ProjectionOptions>();
        // One part, one worker per process: the anomaly stream's ids make a second worker harmless, and the
        // alert dispatcher delivers at least once.
        var options = new ProjectionOptions { BatchSize = shared.BatchSize, Linger = shared.Linger, WorkerId = shared.WorkerId };
        return ProjectionsRegistration.NewRunner(sp, projection, checkpoints, new SoleWorkerLeases(), options);
    }
}
