using AgentStack.Access;
using AgentStack.Events;
using AgentStack.Queries.Findings;
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
        project.MapGet("/traces", GetTracesAsync).WithName("GetTraces")
            .WithSummary("Traces, newest first, with filters and paging; ?asOf= a log position or an RFC 3339 time reads them as they were then, from the log");
        project.MapGet("/traces/{traceId}", GetTraceAsync).WithName("GetTrace")
            .WithSummary("Every span of a trace, with its payloads; ?asOf= a log position or an RFC 3339 time reads it as it was then, from the log");
        return project;
    }

    private static async Task<Results<Ok<TraceList>, ValidationProblem>> GetTracesAsync(string project, TraceQueries queries,
        TracesAsOf history, string? from, string? to, string? status, int? limit, string? cursor, string? sessionId, string? userId,
        string? asOf, string? finding, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        var filter = ParseFilter(from, to, status, limit, cursor, sessionId, userId, finding, errors);
        AsOf point = default;
        if (asOf is not null && !AsOf.TryParse(asOf, out point))
            errors["asOf"] = [AsOf.Problem];
        else if (asOf is not null && (filter.SessionId is not null || filter.UserId is not null || filter.Finding is not null))
            errors["asOf"] = ["asOf reads the log itself and cannot be combined with sessionId, userId or finding yet"];
        if (errors.Count > 0)
            return TypedResults.ValidationProblem(errors);
        return TypedResults.Ok(asOf is null
            ? await queries.GetTracesAsync(project, filter, ct)
            : await history.GetTracesAsync(project, filter, point, ct));
    }

    private static async Task<Results<Ok<TraceDetail>, NotFound, ValidationProblem>> GetTraceAsync(string project, string traceId,
        TraceQueries queries, TracesAsOf history, string? asOf, CancellationToken ct)
    {
        AsOf point = default;
        if (asOf is not null && !AsOf.TryParse(asOf, out point))
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["asOf"] = [AsOf.Problem] });
        var trace = asOf is null ? await queries.GetTraceAsync(project, traceId, ct) : await history.GetTraceAsync(project, traceId, point, ct);
        return trace is not null ? TypedResults.Ok(trace) : TypedResults.NotFound();
    }

    /// <summary>
    /// The parameters the trace list and the trace search share, checked the same way for both; an empty parameter is
    /// an absent one, as a form sends a field left blank.
    /// </summary>
    internal static TraceFilter ParseFilter(string? from, string? to, string? status, int? limit, string? cursor,
        string? sessionId, string? userId, string? finding, Dictionary<string, string[]> errors)
    {
        var fromTime = TimeParameters.Parse(from, "from", errors);
        var toTime = TimeParameters.Parse(to, "to", errors);
        if (status is not (null or "" or "ok" or "error"))
            errors["status"] = ["status must be ok or error"];
        if (limit is < 1 or > MaxLimit)
            errors["limit"] = [$"limit must be between 1 and {MaxLimit}"];
        if (sessionId is { Length: > 200 })
            errors["sessionId"] = ["sessionId must be at most 200 characters"];
        if (userId is { Length: > 200 })
            errors["userId"] = ["userId must be at most 200 characters"];
        if (!Cursor.IsValid(cursor))
            errors["cursor"] = ["cursor is not one this API returned as 'next'"];
        var findingFilter = string.IsNullOrEmpty(finding) ? null : FindingKinds.ForTraceFilter(finding);
        if (!string.IsNullOrEmpty(finding) && findingFilter is null)
            errors["finding"] = [FindingKinds.TraceFilterProblem];
        return new TraceFilter(fromTime, toTime, NullIfEmpty(status), limit ?? DefaultLimit, cursor, NullIfEmpty(sessionId),
            NullIfEmpty(userId), findingFilter);
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
