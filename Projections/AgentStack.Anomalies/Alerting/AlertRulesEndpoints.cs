using System.Security.Cryptography;
using AgentStack.Anomalies.Detecting;
using AgentStack.Access;
using AgentStack.Events;
using AgentStack.Events.Anomalies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace AgentStack.Anomalies.Alerting;

/// <summary>A rule to add. <c>threshold</c> events within <c>windowSeconds</c> fire it; the webhook is optional.</summary>
public sealed record AddAlertRule(string? Kind, string? MinSeverity, int? Threshold, int? WindowSeconds, string? WebhookUrl, string? Secret);

/// <summary>A rule as listed: never its secret, only whether it has one.</summary>
public sealed record AlertRuleView(string RuleId, string Kind, string MinSeverity, int Threshold, int WindowSeconds,
    string? WebhookUrl, bool HasSecret, DateTimeOffset AddedAt);

/// <summary>The rule just added, with its secret: shown this once.</summary>
public sealed record AddedAlertRule(string RuleId, string Kind, string MinSeverity, int Threshold, int WindowSeconds,
    string? WebhookUrl, string? Secret, DateTimeOffset AddedAt);

/// <summary>
/// Per-project alert rules (issue 15, point 7), admin scope. Rules are events in the <c>alert-rules</c>
/// stream, so every topology stores them where it stores the log, and the dispatcher reads them there.
/// </summary>
public static class AlertRulesEndpoints
{
    public static RouteGroupBuilder MapAlertRules(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/projects/{project}/alerts/rules").WithTags("Alerts").RequireAuthorization(Scopes.Admin);
        group.MapPost("/", AddAsync).WithName("AddAlertRule")
            .WithSummary("Add an alert rule: kind (anomaly, guard.blocked, prompt_injection, sensitive_data, detection), minSeverity, threshold within windowSeconds, optional webhookUrl and secret; needs an admin key of the project");
        group.MapGet("/", ListAsync).WithName("ListAlertRules").WithSummary("The project's alert rules (never their secrets)");
        group.MapDelete("/{ruleId}", RemoveAsync).WithName("RemoveAlertRule").WithSummary("Remove an alert rule");
        return group;
    }

    private static async Task<Results<Created<AddedAlertRule>, ValidationProblem, NotFound>> AddAsync(
        string project, AddAlertRule request, HttpContext http, IEventStore store, TimeProvider clock, CancellationToken ct)
    {
        if (!http.User.CanAccess(project))
            return TypedResults.NotFound();
        var errors = new Dictionary<string, string[]>();
        if (request.Kind is not { } kind || !AlertKinds.All.Contains(kind, StringComparer.Ordinal))
            errors["kind"] = [$"kind must be one of {string.Join(", ", AlertKinds.All)}"];
        var minSeverity = request.MinSeverity ?? Severities.Low;
        if (Severities.Rank(minSeverity) < 0)
            errors["minSeverity"] = [$"minSeverity must be one of {string.Join(", ", Severities.All)}"];
        var threshold = request.Threshold ?? 1;
        if (threshold is < 1 or > 100_000)
            errors["threshold"] = ["threshold must be between 1 and 100000"];
        var window = request.WindowSeconds ?? 300;
        if (window is < 1 or > 604_800)
            errors["windowSeconds"] = ["windowSeconds must be between 1 and 604800 (a week)"];
        if (request.WebhookUrl is { } url
            && (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || url.Length > 2048))
            errors["webhookUrl"] = ["webhookUrl must be an absolute http or https URL of at most 2048 characters"];
        if (request.Secret is { } given && given.Length is < 16 or > 256)
            errors["secret"] = ["secret must be 16 to 256 characters"];
        if (errors.Count > 0)
            return TypedResults.ValidationProblem(errors);

        var secret = request.WebhookUrl is null ? null
            : request.Secret ?? "whsec_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        var added = new AlertRuleAdded("rule_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)), project, request.Kind!,
            minSeverity, threshold, window, request.WebhookUrl, secret, clock.GetUtcNow(), http.User.ApiKey().KeyId);
        await store.AppendAsync(AlertRulesStream.Name, StreamAppend.Any, [EventTypes.Serialize(added)], ct);
        return TypedResults.Created($"/api/projects/{project}/alerts/rules/{added.RuleId}", new AddedAlertRule(added.RuleId, added.Kind,
            added.MinSeverity, added.Threshold, added.WindowSeconds, added.WebhookUrl, added.Secret, added.AddedAt));
    }

    private static async Task<Results<Ok<List<AlertRuleView>>, NotFound>> ListAsync(
        string project, HttpContext http, IEventStore store, CancellationToken ct)
    {
        if (!http.User.CanAccess(project))
            return TypedResults.NotFound();
        var rules = await AlertRuleSet.ReadAsync(store, long.MaxValue, ct);
        return TypedResults.Ok(rules.Of(project).Select(r => new AlertRuleView(r.RuleId, r.Kind, r.MinSeverity, r.Threshold,
            r.WindowSeconds, r.WebhookUrl, r.Secret is not null, r.AddedAt)).ToList());
    }

    private static async Task<Results<NoContent, NotFound>> RemoveAsync(
        string project, string ruleId, HttpContext http, IEventStore store, TimeProvider clock, CancellationToken ct)
    {
        if (!http.User.CanAccess(project))
            return TypedResults.NotFound();
        var rules = await AlertRuleSet.ReadAsync(store, long.MaxValue, ct);
        if (rules.Find(project, ruleId) is null)
            return TypedResults.NotFound();
        await store.AppendAsync(AlertRulesStream.Name, StreamAppend.Any,
            [EventTypes.Serialize(new AlertRuleRemoved(ruleId, project, clock.GetUtcNow(), http.User.ApiKey().KeyId))], ct);
        return TypedResults.NoContent();
    }
}
