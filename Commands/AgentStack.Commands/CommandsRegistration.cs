using AgentStack.Commands.Access;
using AgentStack.Commands.Bus;
using AgentStack.Commands.Guarding;
using AgentStack.Security.SensitiveData;
using AgentStack.Commands.Access.SigningIn;
using AgentStack.Commands.Spans.Ingesting;
using AgentStack.Commands.Spans.RecordingSpans;
using MassTransit;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AgentStack.Commands;

public static class CommandsRegistration
{
    /// <summary>The embedded default's projects and keys: <see cref="SqliteAccessStore"/> over <paramref name="accessDatabasePath"/>.</summary>
    public static IServiceCollection AddAccess(this IServiceCollection services, string accessDatabasePath)
    {
        services.AddSingleton(sp => new SqliteAccessStore(accessDatabasePath, sp.GetRequiredService<TimeProvider>()));
        return services.AddAccess<SqliteAccessStore>();
    }

    /// <summary>
    /// Projects, hashed keys, the ApiKey scheme and one authorization policy per scope, over the store
    /// <typeparamref name="TStore"/> that the caller registered as a singleton (the container disposes it).
    /// Hosts use it through <see cref="IAccessStore"/>, behind the short lookup cache of <see cref="CachingAccessStore"/>.
    /// </summary>
    public static IServiceCollection AddAccess<TStore>(this IServiceCollection services) where TStore : class, IAccessStore
    {
        services.AddTryAddTimeProvider();
        services.AddSingleton<IAccessStore>(sp => new CachingAccessStore(sp.GetRequiredService<TStore>(), sp.GetRequiredService<TimeProvider>()));
        services.AddHostedService<AccessBootstrap>();
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        var authorization = services.AddAuthorizationBuilder();
        foreach (var scope in Scopes.All)
            authorization.AddPolicy(scope, p => p.RequireClaim(ApiKeyClaims.Scope, scope));
        services.AddDashboardSignIn();
        return services;
    }

    /// <summary>The collector's limits and metrics; the bus is wired by the host (<see cref="AddRecordSpans"/>).</summary>
    public static IServiceCollection AddCollector(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<IngestOptions>().Bind(configuration.GetSection(IngestOptions.Section));
        services.AddOptions<MaskingOptions>().Bind(configuration.GetSection(MaskingOptions.Section));
        services.AddGuard();
        services.AddSingleton<IngestMetrics>();
        services.AddMetrics();
        services.AddTryAddTimeProvider();
        return services;
    }

    /// <summary>
    /// Registers the collector's request client and, unless this host only collects, the RecordSpans
    /// handler, on a bus configuration. A command is sent to this installation's own queue, never
    /// published: a publish goes to every queue bound to the message type, so a second installation on
    /// the same broker (another <see cref="BusOptions.QueuePrefix"/>) would record it in its own store
    /// and answer for it.
    /// </summary>
    public static IBusRegistrationConfigurator AddRecordSpans(this IBusRegistrationConfigurator bus, BusOptions options)
    {
        if (options.RunHandlers)
            bus.AddConsumer<RecordSpansHandler, RecordSpansHandlerDefinition>();
        bus.AddRequestClient<RecordSpans>(new Uri($"queue:{options.EndpointNames().Consumer<RecordSpansHandler>()}"));
        return bus;
    }

    private static void AddTryAddTimeProvider(this IServiceCollection services)
    {
        if (services.All(d => d.ServiceType != typeof(TimeProvider)))
            services.AddSingleton(TimeProvider.System);
    }
}
