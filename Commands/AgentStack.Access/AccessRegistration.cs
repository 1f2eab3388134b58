using AgentStack.Access.Administering;
using AgentStack.Access.SigningIn;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection;

namespace AgentStack.Access;

public static class AccessRegistration
{
    /// <summary>
    /// The embedded default's projects and keys: <see cref="SqliteAccessStore"/> over <paramref name="accessDatabasePath"/>;
    /// secrets hashed under <paramref name="pepper"/> (<c>AgentStack:Access:Pepper</c>), else under the file beside the database.
    /// </summary>
    public static IServiceCollection AddAccess(this IServiceCollection services, string accessDatabasePath, string? pepper = null)
    {
        services.AddSingleton(sp => new SqliteAccessStore(accessDatabasePath, sp.GetRequiredService<TimeProvider>(), pepper));
        return services.AddAccess<SqliteAccessStore>();
    }

    /// <summary>
    /// Projects, hashed keys, the ApiKey scheme and one authorization policy per scope, over the store
    /// <typeparamref name="TStore"/> that the caller registered as a singleton (the container disposes it).
    /// Hosts use it through <see cref="IAccessStore"/>, behind the short lookup cache of <see cref="CachingAccessStore"/>.
    /// </summary>
    public static IServiceCollection AddAccess<TStore>(this IServiceCollection services) where TStore : class, IAccessStore
    {
        if (services.All(d => d.ServiceType != typeof(TimeProvider)))
            services.AddSingleton(TimeProvider.System);
        services.AddSingleton<IAccessStore>(sp => new CachingAccessStore(sp.GetRequiredService<TStore>(), sp.GetRequiredService<TimeProvider>()));
        services.AddHostedService<AccessBootstrap>();
        services.AddSingleton<AccessLog>();
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        var authorization = services.AddAuthorizationBuilder();
        foreach (var scope in Scopes.All)
            authorization.AddPolicy(scope, p => p.RequireClaim(ApiKeyClaims.Scope, scope));
        authorization.AddPolicy(Policies.Operator, p => p.RequireClaim(ApiKeyClaims.Scope, Scopes.Admin)
            .RequireClaim(ApiKeyClaims.Project, AccessBootstrap.DefaultProject));
        services.AddDashboardSignIn();
        return services;
    }
}
