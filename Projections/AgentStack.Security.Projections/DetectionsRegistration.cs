using AgentStack.Events;
using AgentStack.Projections;
using AgentStack.Security.Injection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace AgentStack.Security.Projections;

public static class DetectionsRegistration
{
    public const string BudgetSetting = "AgentStack:Security:Detections:Budget";

    /// <summary>
    /// 15% of one core's time. With detector 6 a fifth cost ingestion 10–14% on two cores, over the 10% aimed at; this
    /// cost 1–6%, and findings of a peak come later (BENCHMARKS.md, issue 15, "Detectors on and off").
    /// </summary>
    public const double DefaultBudget = 0.15;

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
        var budget = configuration.GetValue(BudgetSetting, DefaultBudget);
        if (budget is not (> 0 and <= 1))
            throw new InvalidOperationException($"{BudgetSetting} must be above 0 and at most 1 (the share of time the detectors may run); was {budget}.");
        services.TryAddSingleton(_ => InjectionDetector.Load(configuration[InjectionDetector.ModelDirectorySetting]));
        services.AddSingleton(sp => new DetectionsProjection(sp.GetRequiredService<IEventStore>(), sp.GetRequiredService<InjectionDetector>(),
            sp.GetRequiredService<AgentStack.Projections.Analytics.IAnalyticsStore>(), sp.GetService<TimeProvider>() ?? TimeProvider.System, budget));
        return services.AddProjectionRunner<DetectionsProjection>();
    }
}
