using AgentStack.Access;
using AgentStack.Events;
using AgentStack.Projections.Running;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace AgentStack.Queries.Projections;

public sealed record ProjectionState(string Name, long Position, long Lag, string? LastError);

public sealed record ProjectionsStatus(long LogPosition, IReadOnlyList<ProjectionState> Projections);

/// <summary>Operators' view of projection progress, and a wait that tests and scripts use instead of sleeping.</summary>
public static class ProjectionEndpoints
{
    public static RouteGroupBuilder MapProjectionStatus(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/projections").WithTags("Projections").RequireAuthorization(Scopes.Admin);
        group.MapGet("/", GetStatusAsync).WithName("GetProjections").WithSummary("Each projection's checkpoint and lag behind the log");
        group.MapGet("/{name}/wait", WaitAsync).WithName("WaitForProjection")
            .WithSummary("Answers once the projection has applied the log up to 'position' (default: the log's end now)");
        return group;
    }

    private static async Task<Ok<ProjectionsStatus>> GetStatusAsync(IEventStore store, ProjectionProgress progress, CancellationToken ct)
    {
        var last = await store.GetLastPositionAsync(ct);
        var errors = progress.Errors;
        return TypedResults.Ok(new ProjectionsStatus(last, progress.Positions
            .Select(p => new ProjectionState(p.Key, p.Value, Math.Max(0, last - p.Value), errors.GetValueOrDefault(p.Key)))
            .OrderBy(p => p.Name, StringComparer.Ordinal).ToList()));
    }

    private static async Task<Results<Ok<ProjectionState>, NotFound, ProblemHttpResult>> WaitAsync(string name, long? position,
        int? timeoutSeconds, IEventStore store, ProjectionProgress progress, CancellationToken ct)
    {
        if (!progress.Positions.ContainsKey(name))
            return TypedResults.NotFound();
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
                detail: $"Projection {name} is at {progress.Positions[name]}, waiting for {target}.");
        }
        var at = progress.Positions[name];
        return TypedResults.Ok(new ProjectionState(name, at, Math.Max(0, target - at), progress.Errors.GetValueOrDefault(name)));
    }
}
