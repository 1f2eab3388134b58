using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AgentStack.Hosting.Protecting;

/// <summary>
/// The HTTP controls of issue 17, item 2 (docs/administration.md): no <c>Server</c> banner; security headers on
/// every answer and a Content-Security-Policy for the dashboard; HSTS on HTTPS requests (also behind a
/// TLS-terminating proxy with <c>AgentStack:ForwardedHeaders=true</c>); CORS closed to every origin but those in
/// <c>AgentStack:Dashboard:Origins</c> (the dashboard is served from the API's own origin, which needs none).
/// </summary>
public static class HttpProtection
{
    /// <summary>
    /// Same-origin everything. Angular's build inlines critical CSS (hence 'unsafe-inline' styles) and loads
    /// the rest with one fixed handler, <c>onload="this.media='all'"</c>, allowed by its hash and nothing else.
    /// </summary>
    public const string DashboardPolicy =
        "default-src 'self'; script-src 'self' 'unsafe-hashes' 'sha256-MhtPZXr7+LpJUY5qtMutB+qWfQtMaPccfe7QXtCcEYc='; " +
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; " +
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

    public static IServiceCollection AddHttpProtection(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<KestrelServerOptions>(o => o.AddServerHeader = false);
        services.AddCors(o => o.AddDefaultPolicy(p =>
        {
            var origins = configuration.GetSection("AgentStack:Dashboard:Origins").Get<string[]>() ?? [];
            if (origins.Length > 0)
                p.WithOrigins(origins).AllowAnyHeader().AllowAnyMethod().AllowCredentials().WithExposedHeaders("Retry-After");
        }));
        services.AddHsts(o =>
        {
            o.MaxAge = TimeSpan.FromDays(365);
            o.IncludeSubDomains = true;
        });
        if (configuration.GetValue<bool>("AgentStack:ForwardedHeaders"))
            services.Configure<ForwardedHeadersOptions>(o =>
                o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto);
        services.AddAgentStackRateLimits(configuration);
        return services;
    }

    /// <summary>Before anything answers: forwarded scheme, headers, HSTS, CORS.</summary>
    public static WebApplication UseHttpProtection(this WebApplication app)
    {
        if (app.Configuration.GetValue<bool>("AgentStack:ForwardedHeaders"))
            app.UseForwardedHeaders();
        app.Use((http, next) =>
        {
            http.Response.OnStarting(() =>
            {
                var headers = http.Response.Headers;
                headers.XContentTypeOptions = "nosniff";
                headers["Referrer-Policy"] = "no-referrer";
                headers.XFrameOptions = "DENY";
                // The OpenAPI browser at /scalar brings its own inline scripts; every other answer gets the policy.
                if (!http.Request.Path.StartsWithSegments("/scalar"))
                    headers.ContentSecurityPolicy = DashboardPolicy;
                return Task.CompletedTask;
            });
            return next(http);
        });
        if (!app.Environment.IsDevelopment())
            app.UseHsts();
        app.UseCors();
        return app;
    }

    /// <summary>
    /// After authentication (limits are per key and per project): rate limits. A project's body, batch, attribute and
    /// payload limits are the ingestion service's (SpanIngestion.LimitsFor), for every ingestion endpoint alike.
    /// </summary>
    public static WebApplication UseTenantLimits(this WebApplication app)
    {
        app.UseRateLimiter();
        return app;
    }
}
