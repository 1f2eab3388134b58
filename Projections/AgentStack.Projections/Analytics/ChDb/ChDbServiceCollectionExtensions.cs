using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace AgentStack.Projections.Analytics.ChDb;

public static class ChDbServiceCollectionExtensions
{
    /// <summary>
    /// Registers the chDB store as the process's <see cref="IAnalyticsStore"/>. A singleton because
    /// the engine is one per process (see ChDbEngine); options bind from <c>AgentStack:ChDb</c>
    /// (e.g. <c>AgentStack__ChDb__LibraryPath</c>) and <paramref name="configure"/> runs after that.
    /// </summary>
    public static IServiceCollection AddChDbAnalytics(this IServiceCollection services, Action<ChDbOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        // Bound by hand rather than with BindConfiguration so a container without IConfiguration (a tool, a test) still works.
        services.AddOptions<ChDbOptions>()
            .Configure<IServiceProvider>((options, sp) => sp.GetService<IConfiguration>()?.GetSection(ChDbOptions.SectionName).Bind(options))
            .Configure(configure);
        services.AddSingleton(sp => new ChDbAnalyticsStore(sp.GetRequiredService<IOptions<ChDbOptions>>().Value));
        services.AddSingleton<IAnalyticsStore>(sp => sp.GetRequiredService<ChDbAnalyticsStore>());
        return services;
    }
}
