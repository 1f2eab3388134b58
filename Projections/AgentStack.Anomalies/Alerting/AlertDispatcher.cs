using System.Buffers;
using System.Globalization;
using System.Text.Json;
using AgentStack.Anomalies.Detecting;
using AgentStack.Events;
using AgentStack.Events.Anomalies;
using AgentStack.Projections.Running;

namespace AgentStack.Anomalies.Alerting;

/// <summary>Where raised alerts go besides webhooks: the bus, where the host has one.</summary>
public interface IAlertPublisher
{
    /// <summary>Must not throw for a broker that is away: webhooks and the checkpoint must go on.</summary>
    Task PublishAsync(AlertRaised alert, CancellationToken cancellationToken);
}

public sealed class NoAlertPublisher : IAlertPublisher
{
    public Task PublishAsync(AlertRaised alert, CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>
/// Evaluates the alert rules over the log (issue 15, point 7), run by the <see cref="ProjectionRunner"/>
/// with its own checkpoint: a rule fires when <c>threshold</c> matching events of its project (kind, at
/// least <c>minSeverity</c>) were recorded within <c>windowSeconds</c>; then its count starts again. Each
/// alert is published on the bus and POSTed to the rule's webhook before the batch's checkpoint is
/// saved: a crash re-delivers (at least once, same <c>X-AgentStack-Delivery</c> id), never loses one.
/// The rules are read from the log as they were at the batch's position, so a replay fires the same alerts.
/// </summary>
public sealed class AlertDispatcher(IEventStore store, IAlertPublisher publisher, WebhookSender webhooks) : IProjection
{
    public const string ProjectionName = "alerts";

    private AlertRuleSet? rules;
    private readonly Dictionary<string, RuleWindow> windows = new(StringComparer.Ordinal);

    // The runner hands a batch again to this same dispatcher after a failure (a checkpoint not saved, the leases
    // changed): the events it went through already are passed over, rule changes included, so the rules and the
    // counts stay those of the log at each event.
    private long through;

    public string Name => ProjectionName;

    /// <summary>Only finding events: the spans among a batch's events come without their data.</summary>
    public EventDataScope Reads => EventDataScope.AllButSpans;

    public async Task ApplyAsync(IReadOnlyList<StoredEvent> batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
            return;
        rules ??= await AlertRuleSet.ReadAsync(store, batch[0].Position, cancellationToken);
        foreach (var stored in batch)
        {
            if (stored.Position <= through)
                continue;
            await ApplyAsync(stored, rules, cancellationToken);
            through = stored.Position;
        }
    }

    private async Task ApplyAsync(StoredEvent stored, AlertRuleSet rules, CancellationToken cancellationToken)
    {
        if (stored.Stream == AlertRulesStream.Name)
        {
            rules.Apply(stored);
            return;
        }
        if (!AlertKinds.IsAlertable(stored.Type))
            return;
        var (project, severity, kind) = AlertKinds.Describe(stored);
        if (project is null)
            return;
        foreach (var rule in rules.Of(project).ToList())
        {
            if (!AlertKinds.Matches(rule.Kind, stored.Type, kind) || Severities.Rank(severity) < Severities.Rank(rule.MinSeverity))
                continue;
            if (!windows.TryGetValue(rule.RuleId, out var window))
                windows[rule.RuleId] = window = new RuleWindow();
            // Counted by this rule already: raising a later rule's alert for the same event failed, and it comes again.
            if (stored.Position <= window.Through)
                continue;
            while (window.Times.Count > 0 && window.Times.Peek() < stored.RecordedAt.AddSeconds(-rule.WindowSeconds))
                window.Times.Dequeue();
            if (window.Times.Count + 1 < rule.Threshold)
                window.Times.Enqueue(stored.RecordedAt);
            else
            {
                // Raised before the window is cleared: if raising fails, the event is counted again when its batch
                // comes back, and the alert is raised then (at least once, with the same id).
                await RaiseAsync(rule, stored, severity, window.Times.Count + 1, cancellationToken);
                window.Times.Clear();
            }
            window.Through = stored.Position;
        }
    }

    private async Task RaiseAsync(AlertRule rule, StoredEvent stored, string severity, int count, CancellationToken cancellationToken)
    {
        var alert = new AlertRaised(AlertId(rule, stored), rule.Project, rule.RuleId, rule.Kind, severity, count, rule.Threshold,
            stored.Type, stored.Stream, stored.Position, stored.RecordedAt);
        await publisher.PublishAsync(alert, cancellationToken);
        if (rule.WebhookUrl is { } url)
            await webhooks.SendAsync(url, rule.Secret, alert.AlertId, Body(alert, rule, stored), cancellationToken);
    }

    /// <summary>One rule's matching events within its window, and the log position it has counted through.</summary>
    private sealed class RuleWindow
    {
        public Queue<DateTimeOffset> Times { get; } = new();

        public long Through { get; set; }
    }

    internal static string AlertId(AlertRule rule, StoredEvent stored) =>
        string.Create(CultureInfo.InvariantCulture, $"alert-{rule.RuleId}-{stored.Position}");

    /// <summary>The webhook's JSON: the alert and the event that fired it, its data as stored.</summary>
    internal static byte[] Body(AlertRaised alert, AlertRule rule, StoredEvent stored)
    {
        var buffer = new ArrayBufferWriter<byte>(512 + stored.Data.Length);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("alertId", alert.AlertId);
            w.WriteString("project", alert.Project);
            w.WriteString("ruleId", alert.RuleId);
            w.WriteString("kind", alert.Kind);
            w.WriteString("severity", alert.Severity);
            w.WriteNumber("count", alert.Count);
            w.WriteNumber("threshold", alert.Threshold);
            w.WriteNumber("windowSeconds", rule.WindowSeconds);
            w.WriteString("raisedAt", alert.RaisedAt.UtcDateTime.ToString(UtcMicrosecondsConverter.Format, CultureInfo.InvariantCulture));
            w.WritePropertyName("event");
            w.WriteStartObject();
            w.WriteString("stream", stored.Stream);
            w.WriteNumber("version", stored.Version);
            w.WriteNumber("position", stored.Position);
            w.WriteString("type", stored.Type);
            w.WritePropertyName("data");
            w.WriteRawValue(stored.Data, skipInputValidation: false);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
