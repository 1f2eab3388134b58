using AgentStack.Events;
using AgentStack.Queries.Traces;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
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
        var fromTime = TimeParameters.Parse(from, "from", errors);
        var toTime = TimeParameters.Parse(to, "to", errors);
        if (limit is < 1 or > MaxLimit)
            errors["limit"] = [$"limit must be between 1 and {MaxLimit}"];
        if (userId is { Length: > 200 })
            errors["userId"] = ["userId must be at most 200 characters"];
        if (errors.Count > 0)
            return TypedResults.ValidationProblem(errors);
        return TypedResults.Ok(await queries.GetSessionsAsync(project, fromTime, toTime, userId, limit ?? DefaultLimit, ct));
    }

    private static async Task<Results<Ok<SessionDetail>, NotFound>> GetSessionAsync(string project, string sessionId,
        SessionQueries queries, HttpContext context, CancellationToken ct) =>
        await queries.GetSessionAsync(project, SentSegment(context, sessionId), ct) is { } session ? TypedResults.Ok(session) : TypedResults.NotFound();

    /// <summary>
    /// The last path segment as the client sent it, decoded once. A route value has every escape decoded but %2F
    /// (Kestrel keeps it, so as not to change the path's segments), %25 included: a session "thread/42", sent
    /// thread%2F42, arrives as "thread%2F42", the same value a session "thread%2F42" (sent thread%252F42) arrives as.
    /// Only the request target tells them apart. A value without '%' had no escape left undecoded and is taken as is
    /// ("50%off" arrives whole: %25 is decoded).
    /// </summary>
    internal static string SentSegment(HttpContext context, string routeValue)
    {
        if (!routeValue.Contains('%', StringComparison.Ordinal)
            || context.Features.Get<IHttpRequestFeature>()?.RawTarget is not { Length: > 0 } target)
            return routeValue;
        var path = target.AsSpan();
        if (path.IndexOf('?') is var query and >= 0)
            path = path[..query];
        // Routing matches a trailing slash too: /sessions/x/ is session x.
        if (path.EndsWith("/", StringComparison.Ordinal))
            path = path[..^1];
        return Uri.UnescapeDataString(path[(path.LastIndexOf('/') + 1)..].ToString());
    }
}
