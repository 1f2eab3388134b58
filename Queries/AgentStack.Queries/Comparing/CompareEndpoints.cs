using System.Text.Json;
using System.Text.Json.Serialization;
using AgentStack.Queries.Traces;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace AgentStack.Queries.Comparing;

/// <summary>A run's totals in a comparison.</summary>
public sealed record RunTotals(string TraceId, string Name, string StartTime, double DurationMs, int SpanCount, int ErrorCount,
    long InputTokens, long OutputTokens, decimal CostUsd, string? RerunOf);

/// <summary>
/// <c>GET /api/projects/{project}/compare?left=&amp;right=</c>: two runs step-aligned, the first divergence, and the
/// token, cost and latency differences (right minus left).
/// </summary>
public sealed record RunComparison(RunTotals Left, RunTotals Right, IReadOnlyList<AlignedStep> Steps, Divergence? FirstDivergence,
    long InputTokensDelta, long OutputTokensDelta, decimal CostUsdDelta, double DurationMsDelta);

public static class CompareEndpoints
{
    public static RouteGroupBuilder MapCompare(this RouteGroupBuilder project)
    {
        project.MapGet("/compare", CompareAsync).WithTags("Traces").WithName("CompareTraces")
            .WithSummary("Two traces step-aligned, with the first divergence and the token, cost and latency differences");
        return project;
    }

    private static async Task<Results<Ok<RunComparison>, NotFound<string>, ValidationProblem>> CompareAsync(string project,
        string? left, string? right, TraceQueries traces, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(left))
            errors["left"] = ["left is required: the trace id of the first run"];
        if (string.IsNullOrWhiteSpace(right))
            errors["right"] = ["right is required: the trace id of the second run"];
        if (errors.Count > 0)
            return TypedResults.ValidationProblem(errors);
        var a = await traces.GetTraceAsync(project, left!, ct);
        var b = await traces.GetTraceAsync(project, right!, ct);
        if (a is null || b is null)
            return TypedResults.NotFound($"trace {(a is null ? left : right)} was not found");
        var steps = RunAlignment.Align(a.Spans, b.Spans);
        var l = Totals(a);
        var r = Totals(b);
        return TypedResults.Ok(new RunComparison(l, r, steps, RunAlignment.FirstDivergence(steps),
            r.InputTokens - l.InputTokens, r.OutputTokens - l.OutputTokens, r.CostUsd - l.CostUsd, Math.Round(r.DurationMs - l.DurationMs, 3)));
    }

    private static RunTotals Totals(TraceDetail trace)
    {
        var spans = trace.Spans;
        var root = spans.FirstOrDefault(s => s.ParentSpanId is null) ?? spans[0];
        var start = spans.Min(s => DateTimeOffset.Parse(s.StartTime, System.Globalization.CultureInfo.InvariantCulture));
        var end = spans.Max(s => DateTimeOffset.Parse(s.EndTime ?? s.StartTime, System.Globalization.CultureInfo.InvariantCulture));
        return new RunTotals(trace.TraceId, root.Name, root.StartTime, Math.Round((end - start).TotalMilliseconds, 3), spans.Count,
            spans.Count(s => s.Status == "error"), spans.Sum(s => s.InputTokens ?? 0), spans.Sum(s => s.OutputTokens ?? 0),
            spans.Sum(s => s.CostUsd ?? 0m), RerunOf(root.Attributes));
    }

    /// <summary>
    /// The trace a run re-runs, from its root's <c>agentstack.rerun.of</c> attribute. Attributes are stored as sent and
    /// may repeat a key; the last one counts, as in most JSON readers.
    /// </summary>
    public static string? RerunOf(string? attributes)
    {
        if (attributes is null)
            return null;
        try
        {
            using var document = JsonDocument.Parse(attributes);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("agentstack.rerun.of", out var of) && of.ValueKind == JsonValueKind.String
                ? of.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
