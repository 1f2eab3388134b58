using System.Text.Json;
using AgentStack.Anomalies.Detecting;
using AgentStack.Events;
using AgentStack.Events.Anomalies;

namespace AgentStack.Anomalies.Alerting;

/// <summary>One project's alert rule as the log says it is now (issue 15, point 7).</summary>
public sealed record AlertRule(string RuleId, string Project, string Kind, string MinSeverity, int Threshold, int WindowSeconds,
    string? WebhookUrl, string? Secret, DateTimeOffset AddedAt);

/// <summary>
/// What a rule's <c>kind</c> matches among stored event types: <c>anomaly</c> every <c>anomaly.*</c>,
/// <c>guard.blocked</c> the guard's blocks, and <c>prompt_injection</c> or <c>sensitive_data</c> the
/// <c>detection.*</c> events of that kind (their <c>kind</c>, or a type naming it with <c>_</c> or <c>-</c>); <c>detection</c> every detection.
/// </summary>
public static class AlertKinds
{
    public const string Anomaly = "anomaly";
    public const string GuardBlocked = "guard.blocked";
    public const string PromptInjection = "prompt_injection";
    public const string SensitiveData = "sensitive_data";
    public const string Detection = "detection";

    public static readonly IReadOnlyList<string> All = [Anomaly, GuardBlocked, PromptInjection, SensitiveData, Detection];

    /// <summary>Whether an event of <paramref name="type"/> is one alerts look at at all.</summary>
    public static bool IsAlertable(string type) =>
        type.StartsWith("anomaly.", StringComparison.Ordinal) || type.StartsWith("detection.", StringComparison.Ordinal)
        || type.StartsWith("guard.blocked", StringComparison.Ordinal);

    /// <summary>
    /// Whether a rule of <paramref name="kind"/> matches an event of <paramref name="type"/> whose <c>kind</c> property is
    /// <paramref name="eventKind"/>: the detections projection stores every finding as <c>detection.recorded.v1</c>, its kind
    /// (<c>prompt_injection</c>, <c>sensitive_data</c>) a property of the event, not part of the type.
    /// </summary>
    public static bool Matches(string kind, string type, string? eventKind = null) => kind switch
    {
        Anomaly => type.StartsWith("anomaly.", StringComparison.Ordinal),
        GuardBlocked => type.StartsWith("guard.blocked", StringComparison.Ordinal),
        Detection => type.StartsWith("detection.", StringComparison.Ordinal),
        _ => type.StartsWith("detection.", StringComparison.Ordinal)
             && (type.Replace('-', '_').Contains(kind, StringComparison.Ordinal)
                 || string.Equals(eventKind?.Replace('-', '_'), kind, StringComparison.Ordinal)),
    };

    /// <summary>
    /// The project, severity and kind of an alertable event, from its JSON (<c>project</c>, <c>severity</c>, <c>kind</c>):
    /// only the stored properties are read, so detections of other detectors need no reference here. An event
    /// without a severity counts as <c>high</c> when it is a guard block (an attack was stopped), else <c>medium</c>.
    /// </summary>
    public static (string? Project, string Severity, string? Kind) Describe(StoredEvent stored)
    {
        try
        {
            using var document = JsonDocument.Parse(stored.Data);
            var root = document.RootElement;
            string? project = root.TryGetProperty("project", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
            var severity = root.TryGetProperty("severity", out var s) && s.ValueKind == JsonValueKind.String
                && Severities.Rank(s.GetString()) >= 0
                ? s.GetString()!
                : stored.Type.StartsWith("guard.blocked", StringComparison.Ordinal) ? Severities.High : Severities.Medium;
            string? kind = root.TryGetProperty("kind", out var k) && k.ValueKind == JsonValueKind.String ? k.GetString() : null;
            return (project, severity, kind);
        }
        catch (JsonException)
        {
            return (null, Severities.Medium, null);
        }
    }
}

/// <summary>The rules folded from the <c>alert-rules</c> stream, pure: <see cref="Apply"/> one stored event at a time.</summary>
public sealed class AlertRuleSet
{
    private readonly Dictionary<string, AlertRule> rules = new(StringComparer.Ordinal);

    public IEnumerable<AlertRule> All => rules.Values;

    public IEnumerable<AlertRule> Of(string project) => rules.Values.Where(r => r.Project == project).OrderBy(r => r.AddedAt);

    public AlertRule? Find(string project, string ruleId) =>
        rules.TryGetValue(ruleId, out var rule) && rule.Project == project ? rule : null;

    public void Apply(StoredEvent stored)
    {
        switch (EventTypes.Deserialize(stored.Type, stored.Data))
        {
            case AlertRuleAdded a:
                rules[a.RuleId] = new AlertRule(a.RuleId, a.Project, a.Kind, a.MinSeverity, a.Threshold, a.WindowSeconds,
                    a.WebhookUrl, a.Secret, a.AddedAt);
                break;
            case AlertRuleRemoved r:
                rules.Remove(r.RuleId);
                break;
        }
    }

    public static async Task<AlertRuleSet> ReadAsync(IEventStore store, long beforePosition, CancellationToken cancellationToken)
    {
        var set = new AlertRuleSet();
        await foreach (var e in store.ReadStreamAsync(AlertRulesStream.Name, 1, cancellationToken))
            if (e.Position < beforePosition)
                set.Apply(e);
        return set;
    }
}
