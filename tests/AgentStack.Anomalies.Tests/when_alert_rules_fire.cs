using System.Text;
using System.Text.Json;
using AgentStack.Anomalies.Alerting;
using AgentStack.Anomalies.Detecting;
using AgentStack.Events;
using AgentStack.Events.Anomalies;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentStack.Anomalies.Tests;

/// <summary>Alert rules over the real SQLite log, delivered to a real local HTTP listener.</summary>
public sealed class when_alert_rules_fire : IAsyncLifetime
{
    private const string Secret = "test-secret-0123456789";
    private readonly TempStore temp = new();
    private readonly WebhookReceiver webhook = new();
    private readonly RecordingPublisher publisher = new();
    private readonly HttpClient http = new();

    private IReadOnlyList<WebhookReceiver.Delivery> Received => webhook.Received;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    private AlertDispatcher Dispatcher() => new(temp.Store, publisher, new WebhookSender(http,
        new AlertOptions { InitialBackoff = TimeSpan.FromMilliseconds(20), MaxAttempts = 5 }, TimeProvider.System, NullLogger<WebhookSender>.Instance));

    private async Task AddRuleAsync(string project, string kind, string minSeverity, int threshold)
    {
        var rule = new AlertRuleAdded($"rule_{kind}_{threshold}", project, kind, minSeverity, threshold, 3600, webhook.Url, Secret,
            DateTimeOffset.UtcNow, "key_test");
        await temp.Store.AppendAsync(AlertRulesStream.Name, StreamAppend.Any, [EventTypes.Serialize(rule)], CancellationToken.None);
    }

    private async Task AppendAnomalyAsync(string project, string id, string severity)
    {
        var anomaly = new AnomalyDetected(id, project, AnomalyDimensions.Tool, "search", AnomalyMetrics.Loop, 4, 1, 1, 3, 0, severity,
            "t1", "s1", "loop", DateTimeOffset.UtcNow, AnomalyEngine.DetectorName, AnomalyEngine.DetectorVersion);
        await temp.Store.AppendAsync(AnomalyStream.Name(project), StreamAppend.Any, [EventTypes.Serialize(anomaly)], CancellationToken.None);
    }

    [Fact]
    public async Task then_a_failing_webhook_is_retried_until_it_answers_with_the_same_signed_delivery()
    {
        webhook.FailFirst = 2;
        await AddRuleAsync("acme", AlertKinds.Anomaly, Severities.Medium, threshold: 1);
        await AppendAnomalyAsync("acme", "anomaly-1", Severities.High);

        await Dispatcher().ApplyAsync(await temp.ReadAllAsync(), CancellationToken.None);

        Received.Select(r => r.Answer).ShouldBe([500, 500, 204]);
        Received.Select(r => r.DeliveryId).Distinct().ShouldHaveSingleItem().ShouldNotBeNull();
        foreach (var r in Received)
        {
            r.Signature.ShouldBe(WebhookSender.Sign(Secret, Encoding.UTF8.GetBytes(r.Body)));
            long.Parse(r.Timestamp!, System.Globalization.CultureInfo.InvariantCulture)
                .ShouldBeInRange(DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
        }
        using var body = JsonDocument.Parse(Received[0].Body);
        body.RootElement.GetProperty("project").GetString().ShouldBe("acme");
        body.RootElement.GetProperty("event").GetProperty("type").GetString().ShouldBe(AnomalyDetected.TypeName);
        body.RootElement.GetProperty("event").GetProperty("data").GetProperty("id").GetString().ShouldBe("anomaly-1");
        publisher.Raised.ShouldHaveSingleItem().Project.ShouldBe("acme");
    }

    [Fact]
    public async Task then_a_tampered_body_does_not_verify()
    {
        var body = """{"alertId":"a"}"""u8.ToArray();
        var signature = WebhookSender.Sign(Secret, body);

        signature.ShouldStartWith("sha256=");
        WebhookSender.Sign(Secret, """{"alertId":"b"}"""u8).ShouldNotBe(signature);
        WebhookSender.Sign("another-secret-0123", body).ShouldNotBe(signature);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task then_threshold_severity_and_project_decide_what_fires()
    {
        await AddRuleAsync("acme", AlertKinds.Anomaly, Severities.High, threshold: 2);
        await AppendAnomalyAsync("acme", "a1", Severities.High);
        await AppendAnomalyAsync("acme", "a2", Severities.Low); // under the rule's severity
        await AppendAnomalyAsync("other", "a3", Severities.Critical); // another project
        await AppendAnomalyAsync("acme", "a4", Severities.Critical); // the second: fires
        await AppendAnomalyAsync("acme", "a5", Severities.High); // counting starts again

        await Dispatcher().ApplyAsync(await temp.ReadAllAsync(), CancellationToken.None);

        var alert = publisher.Raised.ShouldHaveSingleItem();
        (alert.Count, alert.Severity).ShouldBe((2, Severities.Critical));
        Received.ShouldHaveSingleItem().Body.ShouldContain("\"a4\"");
    }

    [Fact]
    public async Task then_a_rule_added_after_an_event_does_not_fire_for_it_and_a_removed_rule_stops()
    {
        await AppendAnomalyAsync("acme", "before", Severities.High);
        await AddRuleAsync("acme", AlertKinds.Anomaly, Severities.Low, threshold: 1);
        await AppendAnomalyAsync("acme", "during", Severities.High);
        await temp.Store.AppendAsync(AlertRulesStream.Name, StreamAppend.Any,
            [EventTypes.Serialize(new AlertRuleRemoved("rule_anomaly_1", "acme", DateTimeOffset.UtcNow, "key_test"))], CancellationToken.None);
        await AppendAnomalyAsync("acme", "after", Severities.High);

        // Replayed in two batches, as a restart from a checkpoint would: the rules are those of the log at that point.
        var log = await temp.ReadAllAsync();
        var dispatcher = Dispatcher();
        await dispatcher.ApplyAsync(log.Take(3).ToList(), CancellationToken.None);
        await dispatcher.ApplyAsync(log.Skip(3).ToList(), CancellationToken.None);

        Received.ShouldHaveSingleItem().Body.ShouldContain("\"during\"");
    }

    /// <summary>A rule that fires on the second of two high anomalies, then three of them: the log, the rule first.</summary>
    private async Task<List<StoredEvent>> RuleOfTwoAndThreeAnomaliesAsync()
    {
        await AddRuleAsync("acme", AlertKinds.Anomaly, Severities.High, threshold: 2);
        await AppendAnomalyAsync("acme", "a1", Severities.High);
        await AppendAnomalyAsync("acme", "a2", Severities.High); // the second: fires
        await AppendAnomalyAsync("acme", "a3", Severities.High); // counting starts again
        return await temp.ReadAllAsync();
    }

    [Fact]
    public async Task then_a_batch_handed_again_raises_nothing_new()
    {
        // The runner hands a batch again to the same dispatcher when saving its checkpoint failed or its leases changed.
        var log = await RuleOfTwoAndThreeAnomaliesAsync();
        var dispatcher = Dispatcher();
        await dispatcher.ApplyAsync(log, CancellationToken.None);
        await dispatcher.ApplyAsync(log, CancellationToken.None);
        await dispatcher.ApplyAsync(log.Skip(2).ToList(), CancellationToken.None);

        publisher.Raised.ShouldHaveSingleItem().AlertId.ShouldBe($"alert-rule_anomaly_2-{log[2].Position}");
        Received.ShouldHaveSingleItem().Body.ShouldContain("\"a2\"");
    }

    [Fact]
    public async Task then_an_alert_that_could_not_be_raised_is_raised_when_its_batch_comes_again()
    {
        var log = await RuleOfTwoAndThreeAnomaliesAsync();
        var dispatcher = Dispatcher();

        publisher.FailNext = 1;
        await Should.ThrowAsync<InvalidOperationException>(() => dispatcher.ApplyAsync(log, CancellationToken.None));
        await dispatcher.ApplyAsync(log, CancellationToken.None);

        var alert = publisher.Raised.ShouldHaveSingleItem();
        (alert.Count, alert.EventPosition).ShouldBe((2, log[2].Position));
        Received.ShouldHaveSingleItem().Body.ShouldContain("\"a2\"");
    }

    [Fact]
    public async Task then_a_prompt_injection_rule_fires_on_the_detections_of_that_kind()
    {
        // Every detection is stored as detection.recorded.v1; its kind is a property of the event, not part of the type.
        await AddRuleAsync("acme", AlertKinds.PromptInjection, Severities.Low, threshold: 1);
        foreach (var (kind, rule, severity) in new[] { ("sensitive_data", "email", "low"), ("prompt_injection", "classifier", "high") })
        {
            var detection = new AgentStack.Events.Security.DetectionRecorded("acme", "t1", "s1", 1, "input$", kind, rule, 0.9, severity,
                "found", 0, 4, "detector", "1", DateTimeOffset.UtcNow);
            await temp.Store.AppendAsync(AgentStack.Events.Security.DetectionStream.Name("acme", "t1"), StreamAppend.Any,
                [EventTypes.Serialize(detection)], CancellationToken.None);
        }

        await Dispatcher().ApplyAsync(await temp.ReadAllAsync(), CancellationToken.None);

        publisher.Raised.ShouldHaveSingleItem().EventType.ShouldBe(EventTypes.DetectionRecorded);
        Received.ShouldHaveSingleItem().Body.ShouldContain("\"rule\":\"classifier\"");
    }

    [Fact]
    public void then_kinds_match_the_stored_type_names()
    {
        AlertKinds.Matches(AlertKinds.Anomaly, AnomalyDetected.TypeName).ShouldBeTrue();
        AlertKinds.Matches(AlertKinds.GuardBlocked, "guard.blocked.v1").ShouldBeTrue();
        AlertKinds.Matches(AlertKinds.PromptInjection, "detection.prompt-injection.v1").ShouldBeTrue();
        AlertKinds.Matches(AlertKinds.PromptInjection, "detection.sensitive_data.v1").ShouldBeFalse();
        AlertKinds.Matches(AlertKinds.Detection, "detection.sensitive_data.v1").ShouldBeTrue();
        AlertKinds.Matches(AlertKinds.Anomaly, "guard.blocked.v1").ShouldBeFalse();
        AlertKinds.IsAlertable(EventTypes.SpanCompleted).ShouldBeFalse();
    }

    public async ValueTask DisposeAsync()
    {
        await webhook.DisposeAsync();
        http.Dispose();
        await temp.DisposeAsync();
    }

    private sealed class RecordingPublisher : IAlertPublisher
    {
        public List<AlertRaised> Raised { get; } = [];

        /// <summary>How many publishes fail before one is taken (a broken bus in a publisher that should not throw).</summary>
        public int FailNext { get; set; }

        public Task PublishAsync(AlertRaised alert, CancellationToken cancellationToken)
        {
            if (FailNext > 0)
            {
                FailNext--;
                throw new InvalidOperationException("the publisher failed");
            }
            Raised.Add(alert);
            return Task.CompletedTask;
        }
    }
}
