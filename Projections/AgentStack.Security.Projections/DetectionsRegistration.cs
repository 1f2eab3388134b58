using AgentStack.Events;
using AgentStack.Projections;
using AgentStack.Security.Injection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace AgentStack.Security.Projections;

public static class DetectionsRegistration
{
    /// <summary>
    /// The detections projection as a worker of its own (checkpoint <c>detections@{version}</c>: a new
    /// detector version starts from position 0, docs/security-engine.md), unless
    /// <c>AgentStack:Security:Detections:Enabled</c> is false. Needs the projection runner's services
    /// (<c>AddAnalyticsProjections</c> with workers).
    /// </summary>
    public static IServiceCollection AddDetections(this IServiceCollection services, IConfiguration configuration)
    {
        if (!configuration.GetValue("AgentStack:Security:Detections:Enabled", true))
            return services;
        services.TryAddSingleton(_ => InjectionDetector.Load(configuration[InjectionDetector.ModelDirectorySetting]));
        services.AddSingleton(sp => new DetectionsProjection(sp.GetRequiredService<IEventStore>(), sp.GetRequiredService<InjectionDetector>(),
            sp.GetRequiredService<AgentStack.Projections.Analytics.IAnalyticsStore>(), sp.GetService<TimeProvider>() ?? TimeProvider.System));
        return services.AddProjectionRunner<DetectionsProjection>();
    }
}
