using AgentStack.Events;
using AgentStack.Queries.Traces;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace AgentStack.Queries.Sessions;

/// <summary>
/// Sessions (issue 16): <c>GET /api/projects/{project}/sessions[?from=&amp;to=&amp;userId=&amp;limit=]</c>, newest first,
/// with totals; <c>GET /api/projects/{project}/sessions/{sessionId}</c>, its traces in the order they started.
/// </summary>
public static class SessionEndpoints
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 500;

    public static RouteGroupBuilder MapSessions(this RouteGroupBuilder project)
    {
        var sessions = project.MapGroup("/sessions").WithTags("Sessions");
        sessions.MapGet("", GetSessionsAsync).WithName("GetSessions").WithSummary("Sessions, newest first, with totals over their traces");
        sessions.MapGet("/{sessionId}", GetSessionAsync).WithName("GetSession").WithSummary("A session's traces in the order they started, with its totals");
        return project;
    }

    private static async Task<Results<Ok<SessionList>, ValidationProblem>> GetSessionsAsync(string project, SessionQueries queries,
        string? from, string? to, string? userId, int? limit, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        var fromTime = ParseTime(from, "from", errors);
        var toTime = ParseTime(to, "to", errors);
        if (limit is < 1 or > MaxLimit)
            errors["limit"] = [$"limit must be between 1 and {MaxLimit}"];
        if (userId is { Length: > 200 })
            errors["userId"] = ["userId must be at most 200 characters"];
        if (errors.Count > 0)
            return TypedResults.ValidationProblem(errors);
        return TypedResults.Ok(await queries.GetSessionsAsync(project, fromTime, toTime, userId, limit ?? DefaultLimit, ct));
    }

    private static async Task<Results<Ok<SessionDetail>, NotFound>> GetSessionAsync(string project, string sessionId,
        SessionQueries queries, CancellationToken ct) =>
        await queries.GetSessionAsync(project, sessionId, ct) is { } session ? TypedResults.Ok(session) : TypedResults.NotFound();

    private static DateTimeOffset? ParseTime(string? value, string field, Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrEmpty(value))
            return null;
        if (Rfc3339.TryParse(value, out var time))
            return time;
        errors[field] = [$"{field} must be an RFC 3339 time such as 2026-01-31T12:00:00Z"];
        return null;
    }
}
