using AgentStack.Access;
using AgentStack.Events;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace AgentStack.Queries.Traces;

public static class TraceEndpoints
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 500;

    /// <summary>Maps the trace reads onto a <c>/api/projects/{project}</c> group that already checks the key's project.</summary>
    public static RouteGroupBuilder MapTraces(this RouteGroupBuilder project)
    {
        project.MapGet("/traces", GetTracesAsync).WithName("GetTraces").WithSummary("Traces, newest first, with filters and paging");
        project.MapGet("/traces/{traceId}", GetTraceAsync).WithName("GetTrace").WithSummary("Every span of a trace, with its payloads");
        return project;
    }

    private static async Task<Results<Ok<TraceList>, ValidationProblem>> GetTracesAsync(string project, TraceQueries queries,
        string? from, string? to, string? status, int? limit, string? cursor, string? sessionId, string? userId, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        var fromTime = ParseTime(from, "from", errors);
        var toTime = ParseTime(to, "to", errors);
        if (status is not (null or "ok" or "error"))
            errors["status"] = ["status must be ok or error"];
        if (limit is < 1 or > MaxLimit)
            errors["limit"] = [$"limit must be between 1 and {MaxLimit}"];
        if (sessionId is { Length: > 200 })
            errors["sessionId"] = ["sessionId must be at most 200 characters"];
        if (userId is { Length: > 200 })
            errors["userId"] = ["userId must be at most 200 characters"];
        if (!Cursor.IsValid(cursor))
            errors["cursor"] = ["cursor is not one this API returned as 'next'"];
        if (errors.Count > 0)
            return TypedResults.ValidationProblem(errors);
        return TypedResults.Ok(await queries.GetTracesAsync(project,
            new TraceFilter(fromTime, toTime, status, limit ?? DefaultLimit, cursor, sessionId, userId), ct));
    }

    private static async Task<Results<Ok<TraceDetail>, NotFound>> GetTraceAsync(string project, string traceId,
        TraceQueries queries, CancellationToken ct) =>
        await queries.GetTraceAsync(project, traceId, ct) is { } trace ? TypedResults.Ok(trace) : TypedResults.NotFound();

    private static DateTimeOffset? ParseTime(string? value, string field, Dictionary<string, string[]> errors)
    {
        if (value is null)
            return null;
        if (Rfc3339.TryParse(value, out var time))
            return time;
        errors[field] = [$"{field} must be an RFC 3339 time such as 2026-01-31T12:00:00Z"];
        return null;
    }
}
