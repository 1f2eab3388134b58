using System.Security.Claims;
using AgentStack.Access;
using AgentStack.Access.Administering;
using AgentStack.Events;
using AgentStack.Projections.Retention;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace AgentStack.Queries.Retention;

/// <summary>The policy to set: <paramref name="Days"/> null keeps data forever (the default).</summary>
public sealed record SetRetention(int? Days);

/// <summary>One run of the retention worker that removed something, from stream <c>retention-{project}</c>.</summary>
public sealed record RetentionRunSummary(DateTimeOffset AppliedAt, int RetentionDays, DateTimeOffset Cutoff, int KeysDestroyed,
    long SpansExpired, long TracesExpired, long Position, long FindingsExpired);

/// <summary>A project's retention: the policy (who set it, when) and the worker's latest runs, newest first.</summary>
public sealed record RetentionStatus(string Project, int? Days, DateTimeOffset? SetAt, string? SetBy, IReadOnlyList<RetentionRunSummary> Runs);

/// <summary>
/// Retention per project (issue 17.3, docs/retention.md), admin scope of the project or the operator's (also of an
/// archived project, whose own keys are refused): <c>GET</c> shows the policy and
/// what retention removed; <c>PUT</c> sets the policy, recorded as <c>retention.policy.set.v1</c> in the project's
/// access stream (the audit trail of administration), and runs the worker in this host at once.
/// </summary>
public static class RetentionEndpoints
{
    public const int MaxDays = 36500;
    public const int RunsShown = 20;

    public static IEndpointRouteBuilder MapRetention(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/projects/{project}/retention").WithTags("Retention").RequireAuthorization(Scopes.Admin);
        group.MapGet("/", GetAsync).WithName("GetRetention")
            .WithSummary("The project's retention policy (days; null keeps data forever) and the latest retention runs (what they removed)");
        group.MapPut("/", SetAsync).WithName("SetRetention")
            .WithSummary("Set the project's retention in days (null: keep forever); older payloads are erased by destroying their keys, older analytics rows expire");
        return app;
    }

    private static async Task<Results<Ok<RetentionStatus>, NotFound>> GetAsync(
        string project, HttpContext http, IAccessStore access, RetentionPolicies policies, IEventStore events, CancellationToken ct)
    {
        if (!http.User.CanAdminister(project) || await access.GetProjectAsync(project, ct) is null)
            return TypedResults.NotFound();
        return TypedResults.Ok(await StatusAsync(project, policies, events, ct));
    }

    private static async Task<Results<Ok<RetentionStatus>, ValidationProblem, NotFound>> SetAsync(
        string project, SetRetention request, HttpContext http, IAccessStore access, AccessLog log, RetentionPolicies policies,
        IEventStore events, IServiceProvider services, TimeProvider clock, CancellationToken ct)
    {
        if (!http.User.CanAdminister(project) || await access.GetProjectAsync(project, ct) is null)
            return TypedResults.NotFound();
        if (request.Days is < 1 or > MaxDays)
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["days"] = [$"days must be 1 to {MaxDays}, or null to keep data forever"],
            });
        await log.AppendAsync(project, new RetentionPolicySet(project, request.Days, Actor(http.User), clock.GetUtcNow()), ct);
        policies.Forget(project);
        services.GetService<RetentionWorker>()?.Trigger();
        return TypedResults.Ok(await StatusAsync(project, policies, events, ct));
    }

    private static async Task<RetentionStatus> StatusAsync(string project, RetentionPolicies policies, IEventStore events, CancellationToken ct)
    {
        var policy = await policies.GetAsync(project, ct);
        var runs = new List<RetentionRunSummary>();
        await foreach (var stored in events.ReadStreamAsync(RetentionStream.Name(project), 1, ct))
            if (EventTypes.Deserialize(stored.Type, stored.Data) is RetentionApplied run)
                runs.Add(new RetentionRunSummary(run.AppliedAt, run.RetentionDays, run.Cutoff, run.KeyIds.Count, run.SpansExpired,
                    run.TracesExpired, stored.Position, run.FindingsExpired));
        runs.Reverse();
        return new RetentionStatus(project, policy.Days, policy.At, policy.By, runs.Take(RunsShown).ToList());
    }

    private static string Actor(ClaimsPrincipal user) => user.FindFirstValue(ApiKeyClaims.KeyId) ?? "unknown";
}
