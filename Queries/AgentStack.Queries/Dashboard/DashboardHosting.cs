using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Net.Http.Headers;

namespace AgentStack.Queries.Dashboard;

/// <summary>
/// Serves the built Angular dashboard (issue 7) from the query host: its files, and <c>index.html</c>
/// for every other GET outside the API, so deep links such as <c>/traces/{id}/replay?version=3</c> load
/// the app (SPA fallback). The build comes from <c>AgentStack:Dashboard:Path</c>, or else from
/// <c>web-ui/dist/browser</c> found above the working or the app directory (scripts/setup-web-ui.sh).
/// </summary>
public static class DashboardHosting
{
    private static readonly string[] ApiPrefixes = ["/api", "/v1", "/health", "/openapi", "/scalar", "/signin", "/signout", "/opentelemetry"];

    public static WebApplication MapDashboard(this WebApplication app)
    {
        var root = FindBuild(app.Configuration);
        if (root is null)
        {
            app.MapGet("/", () => TypedResults.Content(
                "The dashboard is not built. Run scripts/setup-web-ui.sh (./run.sh does), then restart the server.", "text/plain"))
                .ExcludeFromDescription();
            return app;
        }

        var files = new PhysicalFileProvider(root);
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            // Angular names its bundles by content hash: cache those for good, never index.html.
            OnPrepareResponse = c => c.Context.Response.Headers[HeaderNames.CacheControl] =
                c.File.Name == "index.html" ? "no-cache" : "public, max-age=31536000, immutable",
        });
        app.MapFallback(async context =>
        {
            var path = context.Request.Path;
            if (!HttpMethods.IsGet(context.Request.Method) || ApiPrefixes.Any(p => path.StartsWithSegments(p, StringComparison.OrdinalIgnoreCase)))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }
            context.Response.ContentType = "text/html; charset=utf-8";
            context.Response.Headers[HeaderNames.CacheControl] = "no-cache";
            await context.Response.SendFileAsync(files.GetFileInfo("index.html"), context.RequestAborted);
        })
        // GET and HEAD only: a catch-all for every method would swallow the API's own 405/415
        // answers (routing falls back here when an API endpoint rejects the method or content type).
        .WithMetadata(new HttpMethodMetadata([HttpMethods.Get, HttpMethods.Head]))
        .ExcludeFromDescription();
        return app;
    }

    private static string? FindBuild(IConfiguration configuration)
    {
        if (configuration["AgentStack:Dashboard:Path"] is { Length: > 0 } configured)
            return File.Exists(Path.Combine(configured, "index.html")) ? Path.GetFullPath(configured) : null;
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                var candidate = Path.Combine(directory.FullName, "web-ui", "dist", "browser");
                if (File.Exists(Path.Combine(candidate, "index.html")))
                    return candidate;
            }
        }
        return null;
    }
}
