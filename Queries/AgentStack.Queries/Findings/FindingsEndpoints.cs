using System.Globalization;
using AgentStack.Queries.Overview;
using AgentStack.Queries.Traces;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace AgentStack.Queries.Findings;

/// <summary>
/// The detectors' findings (issue 15.5, docs/security-engine.md): the list with filters and paging, and counts per
/// time bucket, kind and severity for the findings page's chart. Times, ranges and buckets are parsed as the overview's.
/// </summary>
public static class FindingsEndpoints
{
    public static RouteGroupBuilder MapFindings(this RouteGroupBuilder project)
    {
        var findings = project.MapGroup("/findings").WithTags("Findings");
        findings.MapGet("", ListAsync).WithName("GetFindings")
            .WithSummary("Findings (prompt injection, sensitive data, anomaly), newest first; filters from, to, kind, severity, agent, traceId, detectorVersion (default: each detector's current version); paging by cursor");
        findings.MapGet("/over-time", (string project, FindingsQueries q, TimeProvider clock, string? from, string? to, string? bucket,
                string? kind, string? severity, string? agent, string? traceId, string? detectorVersion, CancellationToken ct) =>
            {
                var errors = new Dictionary<string, string[]>();
                var filter = Filter(kind, severity, agent, traceId, null, null, detectorVersion, errors);
                return OverviewEndpoints.Run(clock, from, to, bucket, r => q.OverTimeAsync(project, r, filter, ct), errors);
            })
            .WithName("GetFindingsOverTime").WithSummary("Findings per time bucket, kind and severity");
        return project;
    }

    private static async Task<Results<Ok<FindingList>, ValidationProblem>> ListAsync(string project, FindingsQueries queries,
        string? from, string? to, string? kind, string? severity, string? agent, string? traceId, int? limit, string? cursor,
        string? detectorVersion, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        var fromTime = TimeParameters.Parse(from, "from", errors);
        var toTime = TimeParameters.Parse(to, "to", errors);
        var filter = Filter(kind, severity, agent, traceId, limit, cursor, detectorVersion, errors) with { From = fromTime, To = toTime };
        if (errors.Count > 0)
            return TypedResults.ValidationProblem(errors);
        return TypedResults.Ok(await queries.ListAsync(project, filter, ct));
    }

    private static FindingsFilter Filter(string? kind, string? severity, string? agent, string? traceId, int? limit, string? cursor,
        string? detectorVersion, Dictionary<string, string[]> errors)
    {
        string? normalizedKind = null;
        if (!string.IsNullOrEmpty(kind) && (normalizedKind = FindingKinds.Normalize(kind)) is null)
            errors["kind"] = [$"kind must be one of {string.Join(", ", FindingKinds.All)} ('-' or '_')"];
        if (!string.IsNullOrEmpty(severity) && !FindingSeverities.All.Contains(severity))
            errors["severity"] = [$"severity must be one of {string.Join(", ", FindingSeverities.All)}"];
        if (agent is { Length: > 200 })
            errors["agent"] = ["agent must be at most 200 characters"];
        if (traceId is { Length: > 200 })
            errors["traceId"] = ["traceId must be at most 200 characters"];
        if (detectorVersion is { Length: > 100 })
            errors["detectorVersion"] = ["detectorVersion must be at most 100 characters"];
        if (limit is < 1 or > TraceEndpoints.MaxLimit)
            errors["limit"] = [$"limit must be between 1 and {TraceEndpoints.MaxLimit}"];
        if (!Cursor.TryDecode(cursor, out _, out var position) ? !string.IsNullOrEmpty(cursor) : !long.TryParse(position, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            errors["cursor"] = ["cursor is not one this API returned as 'next'"];
        return new FindingsFilter(null, null, normalizedKind, NullIfEmpty(severity), NullIfEmpty(agent), NullIfEmpty(traceId),
            limit ?? TraceEndpoints.DefaultLimit, NullIfEmpty(cursor), NullIfEmpty(detectorVersion));
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
