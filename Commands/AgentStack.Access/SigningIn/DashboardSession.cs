using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace AgentStack.Access.SigningIn;

/// <summary>
/// The dashboard's browser session after a sign-in link (issue 7): an HttpOnly, SameSite=Strict cookie
/// carrying the read scope of project <c>default</c>, and nothing else, so a stolen page script can
/// neither read it nor use it to ingest or administer. Chosen over minting a read key for the SPA: no
/// secret ever reaches JavaScript or storage, and no key rows pile up per sign-in. Requests that carry a
/// key (<c>Authorization</c> or <c>x-api-key</c>) are authenticated by the key alone, as before.
/// </summary>
public static class DashboardSession
{
    public const string SchemeName = "DashboardSession";
    public const string KeyOrSessionScheme = "ApiKeyOrDashboardSession";
    public const string CookieName = "agentstack_session";

    public static IServiceCollection AddDashboardSignIn(this IServiceCollection services)
    {
        services.AddSingleton<SignInLinks>();
        services.AddHostedService(sp => sp.GetRequiredService<SignInLinks>());
        services.AddAuthentication()
            .AddCookie(SchemeName, o =>
            {
                o.Cookie.Name = CookieName;
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Strict;
                o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                o.ExpireTimeSpan = TimeSpan.FromHours(12);
                o.SlidingExpiration = true;
                // An API answers 401/403, never a redirect to a login page.
                o.Events.OnRedirectToLogin = c => { c.Response.StatusCode = StatusCodes.Status401Unauthorized; return Task.CompletedTask; };
                o.Events.OnRedirectToAccessDenied = c => { c.Response.StatusCode = StatusCodes.Status403Forbidden; return Task.CompletedTask; };
            })
            .AddPolicyScheme(KeyOrSessionScheme, null, o => o.ForwardDefaultSelector = c =>
                c.Request.Headers.Authorization.Count > 0 || c.Request.Headers.ContainsKey("x-api-key")
                    ? ApiKeyAuthenticationHandler.SchemeName
                    : SchemeName);
        // Only authentication looks at the cookie; challenges and refusals stay the key scheme's ProblemDetails.
        services.PostConfigure<AuthenticationOptions>(o => o.DefaultAuthenticateScheme = KeyOrSessionScheme);
        return services;
    }

    /// <summary>The session's principal: read scope of the embedded default's project, like a read key.</summary>
    public static ClaimsPrincipal ReadPrincipal(string project) => new(new ClaimsIdentity(
        [
            new Claim(ApiKeyClaims.Project, project),
            new Claim(ApiKeyClaims.KeyId, "session"),
            new Claim(ClaimTypes.Name, "dashboard session"),
            new Claim(ApiKeyClaims.Scope, Scopes.Read),
        ], SchemeName));
}
