using AgentStack.Access;
using AgentStack.Queries.Comparing;
using AgentStack.Queries.Erasure;
using AgentStack.Queries.Findings;
using AgentStack.Queries.Overview;
using AgentStack.Queries.Projections;
using AgentStack.Queries.Replay;
using AgentStack.Queries.Retention;
using AgentStack.Queries.Sessions;
using AgentStack.Queries.Traces;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace AgentStack.Queries;

public static class QueriesRegistration
{
    public static IServiceCollection AddQueries(this IServiceCollection services)
    {
        services.AddSingleton<TraceQueries>();
        services.AddSingleton<TracesAsOf>();
        services.AddSingleton<OverviewQueries>();
        services.AddSingleton<SessionQueries>();
        // Issue 17.3: the retention worker (section AgentStack:Retention, docs/retention.md).
        services.AddOptions<RetentionOptions>().BindConfiguration(RetentionOptions.Section);
        services.AddSingleton<RetentionRun>();
        services.AddSingleton<RetentionWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<RetentionWorker>());
        services.AddSingleton<FindingsQueries>();
        return services;
    }

    /// <summary>
    /// The read API. Every project route needs a key with the read scope of that very project; another
    /// project's key gets 404, so it cannot even learn that the project exists (invariant 6).
    /// </summary>
    public static IEndpointRouteBuilder MapQueries(this IEndpointRouteBuilder app)
    {
        var project = app.MapGroup("/api/projects/{project}").WithTags("Traces").RequireAuthorization(Scopes.Read)
            .AddEndpointFilter(async (context, next) =>
            {
                var name = context.HttpContext.GetRouteValue("project") as string ?? "";
                return context.HttpContext.User.CanAccess(name) ? await next(context) : TypedResults.NotFound();
            });
        project.MapTraces();
        project.MapReplay();
        project.MapOverview();
        project.MapSessions();
        project.MapCompare();
        project.MapFindings();
        app.MapProjectionStatus();
        app.MapErasure();
        app.MapRetention();
        return app;
    }
}
