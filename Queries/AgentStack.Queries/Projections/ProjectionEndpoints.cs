using AgentStack.Access;
using AgentStack.Events;
using AgentStack.Projections.Analytics;
using AgentStack.Projections.Running;
using AgentStack.Projections.Spans.Rebuilding;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace AgentStack.Queries.Projections;

/// <summary>
/// One projection (or one part of it, named <c>name/part-of-parts</c>). <see cref="LagSeconds"/> is the age
/// of the oldest event not yet applied; <see cref="State"/> is <c>running</c>, <c>rebuilding</c> or
/// <c>paused</c>; <see cref="Rate"/> is events applied a second over the last 10 s; <see cref="Rebuild"/>
/// is the rebuild under way or the last one this process ran (issue 14.6).
/// </summary>
public sealed record ProjectionState(string Name, long Position, long Lag, string? LastError, double LagSeconds = 0,
    string State = "running", double Rate = 0, RebuildProgress? Rebuild = null);

public sealed record ProjectionsStatus(long LogPosition, IReadOnlyList<ProjectionState> Projections);

/// <summary>Operators' view and control of the projections (issue 14.6), and a wait that tests and scripts use instead of sleeping.</summary>
public static class ProjectionEndpoints
{
    public static RouteGroupBuilder MapProjectionStatus(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/projections").WithTags("Projections").RequireAuthorization(Policies.Operator);
        group.MapGet("/", GetStatusAsync).WithName("GetProjections")
            .WithSummary("Each projection's checkpoint, lag (events and seconds), rate, state and rebuild progress");
        group.MapGet("/{name}/wait", WaitAsync).WithName("WaitForProjection")
            .WithSummary("Answers once the projection has applied the log up to 'position' (default: the log's end now)");
        group.MapPost("/{name}/rebuild", RebuildAsync).WithName("RebuildProjection")
            .WithSummary("Rebuilds the projection from position 0 into new tables while the current ones serve, then switches (202)");
        group.MapPost("/{name}/pause", PauseAsync).WithName("PauseProjection").WithSummary("Stops applying events after the batch under way");
        group.MapPost("/{name}/resume", ResumeAsync).WithName("ResumeProjection").WithSummary("Applies events again");
        return group;
    }

    private static async Task<Ok<ProjectionsStatus>> GetStatusAsync(IEventStore store, ProjectionProgress progress,
        IServiceProvider services, TimeProvider? clock, CancellationToken ct)
    {
        var last = await store.GetLastPositionAsync(ct);
        var errors = progress.Errors;
        var states = new List<ProjectionState>();
        foreach (var (name, position) in progress.Positions.OrderBy(p => p.Key, StringComparer.Ordinal))
            states.Add(await StateAsync(name, position, last, errors.GetValueOrDefault(name), store, progress, services, clock ?? TimeProvider.System, ct));
        return TypedResults.Ok(new ProjectionsStatus(last, states));
    }

    private static async Task<ProjectionState> StateAsync(string name, long position, long last, string? error, IEventStore store,
        ProjectionProgress progress, IServiceProvider services, TimeProvider clock, CancellationToken ct)
    {
        var projection = BaseName(name);
        var now = clock.GetUtcNow();
        var lagSeconds = 0.0;
        if (last > position && (await store.ReadAllAsync(position, 1, ct)) is [var oldest, ..])
            lagSeconds = Math.Round(Math.Max(0, (now - oldest.RecordedAt).TotalSeconds), 3);
        var rebuild = projection == AgentStack.Projections.Spans.SpansProjection.ProjectionName && name == projection
            ? services.GetService<SpansRebuild>() : null;
        var state = services.GetRequiredService<ProjectionControl>().IsPaused(projection) ? "paused"
            : rebuild?.IsRebuilding == true ? "rebuilding" : "running";
        return new ProjectionState(name, position, Math.Max(0, last - position), error, lagSeconds, state,
            Math.Round(progress.Rate(name, now), 1), rebuild?.Current);
    }

    /// <summary>A part's checkpoint name (<c>analytics/0-of-4</c>) belongs to its projection.</summary>
    private static string BaseName(string name) => name.Split('/')[0];

    private static async Task<Results<Ok<ProjectionState>, NotFound, ProblemHttpResult>> WaitAsync(string name, long? position,
        int? timeoutSeconds, IEventStore store, ProjectionProgress progress, CancellationToken ct)
    {
        // A projection this process runs is found from start-up on, before its runner has loaded its checkpoint, and a
        // versioned one (detections@{version}, issue 15.6) also by its base name: the version this process runs.
        if (!progress.TryResolve(name, out var projection))
            return TypedResults.NotFound();
        name = projection;
        var target = position ?? await store.GetLastPositionAsync(ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(Math.Clamp(timeoutSeconds ?? 30, 1, 300)));
        try
        {
            await progress.WaitForAsync(name, target, timeout.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status504GatewayTimeout, title: "Projection still behind",
                detail: $"Projection {name} is at {progress.PositionOf(name)}, waiting for {target}.");
        }
        var at = progress.PositionOf(name);
        return TypedResults.Ok(new ProjectionState(name, at, Math.Max(0, target - at), progress.Errors.GetValueOrDefault(name)));
    }

    private static async Task<Results<Accepted<ProjectionState>, NotFound, ProblemHttpResult>> RebuildAsync(string name,
        IEventStore store, ProjectionProgress progress, ProjectionOptions options, IOptions<AnalyticsOptions> analytics,
        IServiceProvider services, TimeProvider? clock, CancellationToken ct)
    {
        if (name != AgentStack.Projections.Spans.SpansProjection.ProjectionName || !progress.Knows(name))
            return TypedResults.NotFound();
        // The rebuild holds the live runner to switch tables, so it runs where that runner runs, alone; each
        // refusal says what to do instead (docs/projections.md, "Rebuilding a distributed deployment").
        var refusal = services.GetService<SpansRebuild>() is null
            ? "This host serves queries but runs no projection worker, and a rebuild must hold the live worker to switch tables. " + SingleWorker
            : options.SharesWork
            ? "Projection workers share the log across processes (AgentStack:Projections:Leases=Postgres); a rebuild can hold only the worker in its own process. " + SingleWorker
            : analytics.Value.Cluster is not null
            ? "The analytics tables live on a ClickHouse cluster (AgentStack:Analytics:Cluster); switching replicated tables ON CLUSTER is not built, so rebuilds are not available there."
            : null;
        if (refusal is not null)
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Rebuild not available here", detail: refusal);
        if (!services.GetRequiredService<SpansRebuild>().TryStart())
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Rebuild already under way",
                detail: $"Projection {name} is being rebuilt; follow its progress at GET /api/projections.");
        var last = await store.GetLastPositionAsync(ct);
        return TypedResults.Accepted("/api/projections", await StateAsync(name, progress.PositionOf(name), last,
            progress.Errors.GetValueOrDefault(name), store, progress, services, clock ?? TimeProvider.System, ct));
    }

    private const string SingleWorker =
        "To rebuild: stop the projection workers, start one AgentStack.Server on the same event store and analytics settings with " +
        "AgentStack:Projections:Leases=None, POST this rebuild there and wait for it to switch (GET /api/projections), then stop it and restart the workers.";

    private static Task<Results<Ok<ProjectionState>, NotFound>> PauseAsync(string name, IEventStore store, ProjectionProgress progress,
        ProjectionControl control, IServiceProvider services, TimeProvider? clock, CancellationToken ct) =>
        ControlAsync(name, control.Pause, store, progress, services, clock, ct);

    private static Task<Results<Ok<ProjectionState>, NotFound>> ResumeAsync(string name, IEventStore store, ProjectionProgress progress,
        ProjectionControl control, IServiceProvider services, TimeProvider? clock, CancellationToken ct) =>
        ControlAsync(name, control.Resume, store, progress, services, clock, ct);

    private static async Task<Results<Ok<ProjectionState>, NotFound>> ControlAsync(string name, Action<string> change, IEventStore store,
        ProjectionProgress progress, IServiceProvider services, TimeProvider? clock, CancellationToken ct)
    {
        if (!progress.Knows(name) || name != BaseName(name))
            return TypedResults.NotFound();
        change(name);
        var last = await store.GetLastPositionAsync(ct);
        return TypedResults.Ok(await StateAsync(name, progress.PositionOf(name), last, progress.Errors.GetValueOrDefault(name),
            store, progress, services, clock ?? TimeProvider.System, ct));
    }
}
