using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace AgentStack.Access.SigningIn;

/// <summary>Who the dashboard is signed in as: the project it may read and how it got in (link or key).</summary>
public sealed record DashboardIdentity(bool SignedIn, string? Project, IReadOnlyList<string> Scopes, string? Method);

public static class SignInEndpoints
{
    /// <summary>
    /// <c>GET /signin?token=</c> trades a one-time link for the session cookie and opens the dashboard;
    /// <c>POST /signout</c> drops it; <c>GET /api/session</c> tells the dashboard who it is (key or cookie).
    /// </summary>
    public static IEndpointRouteBuilder MapDashboardSignIn(this IEndpointRouteBuilder app)
    {
        app.MapGet("/signin", SignInAsync).ExcludeFromDescription().AllowAnonymous();
        app.MapPost("/signout", async (HttpContext http) =>
        {
            await http.SignOutAsync(DashboardSession.SchemeName);
            return TypedResults.NoContent();
        }).WithTags("Dashboard").WithSummary("Ends the dashboard's browser session").AllowAnonymous();
        // Anonymous on purpose: "not signed in" is an answer here, not an error (the dashboard asks before
        // it shows anything, and a browser logs every 401 as a console error). It reveals nothing else.
        app.MapGet("/api/session", (ClaimsPrincipal user) =>
            {
                var scopes = user.FindAll(ApiKeyClaims.Scope).Select(c => c.Value).ToList();
                return TypedResults.Ok(user.Identity?.IsAuthenticated == true && scopes.Contains(Scopes.Read)
                    ? new DashboardIdentity(true, user.FindFirstValue(ApiKeyClaims.Project), scopes,
                        user.Identity.AuthenticationType == DashboardSession.SchemeName ? "link" : "key")
                    : new DashboardIdentity(false, null, [], null));
            })
            .AllowAnonymous().WithTags("Dashboard").WithSummary("Whether the caller's key or session may read, and which project");
        return app;
    }

    private static async Task<RedirectHttpResult> SignInAsync(HttpContext http, SignInLinks links, string? token)
    {
        // Links must not linger in the address bar, history or Referer: answer with a redirect either way.
        if (!links.TryRedeem(token))
            return TypedResults.Redirect("/login?error=link");
        await http.SignInAsync(DashboardSession.SchemeName, DashboardSession.ReadPrincipal(AccessBootstrap.DefaultProject));
        return TypedResults.Redirect("/");
    }
}
