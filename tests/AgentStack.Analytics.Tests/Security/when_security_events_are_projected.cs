using AgentStack.Events;
using AgentStack.Events.Anomalies;
using AgentStack.Events.Security;
using AgentStack.Projections.Analytics;
using AgentStack.Projections.Security;
using static AgentStack.Analytics.Tests.ChDbTestEngine;

namespace AgentStack.Analytics.Tests.Security;

/// <summary>
/// The security findings projection's spec (issue 13: one per projection): given these stored events, these rows of
/// <c>security_findings</c>; a batch applied again, or its halves in either order, changes nothing. One row per
/// (kind, trace, span, detector version), the latest finding's (040_security_findings.sql).
/// </summary>
public abstract class when_security_events_are_projected(AnalyticsDatabase db) : IAsyncLifetime
{
    private static readonly DateTimeOffset At = new(2026, 12, 7, 10, 0, 0, TimeSpan.Zero);

    private readonly string project = "sf" + Guid.NewGuid().ToString("N")[..12];

    private const string Rows = """
        SELECT trace_id, span_id, kind, action, score, reason, detected_at, position, detector, detector_version
        FROM agentstack.security_findings FINAL WHERE project = {p:String} ORDER BY position
        """;

    public async ValueTask InitializeAsync() => await AnalyticsSchema.ApplyAsync(db.Store, Ct);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private IReadOnlyList<StoredEvent> Log()
    {
        object[] events =
        [
            new DetectionRecorded(project, "t1", "s1", 10, "input$.q", "prompt_injection", "override", 0.9, "high",
                "asks to ignore its instructions", 3, 20, "prompt-injection", "3", At),
            new DetectionRecorded(project, "t1", "s1", 10, "input$.q", "sensitive_data", "email", 1, "medium", "an e-mail address", 30, 15,
                "sensitive-data", "1", At),
            // The same kind on the same span and version: this later one is the row.
            new DetectionRecorded(project, "t1", "s1", 10, "output$.text", "sensitive_data", "phone", 1, "medium", "a phone number", 50, 12,
                "sensitive-data", "1", At.AddSeconds(1)),
            new GuardBlocked(project, "user_input", 0.97, [new GuardFindingRecord("prompt_injection", 0.97, "a fake system message", 0, 9),
                new GuardFindingRecord("prompt_injection", 0.6, "a weaker match", 12, 4)], "sha", 40, "prompt-injection", "3",
                At.AddMinutes(5), "key-1"),
            // Not this projection's: an anomaly (the findings projection's) and an event of another kind.
            new AnomalyDetected("a1", project, "agent", "agent", "latency_ms", 9000, 900, 700, 1500, 12, "critical", "t1", "s1",
                "latency", At.AddHours(1), "anomalies", "1"),
        ];
        var stored = events.Select((e, i) => EventTypes.Serialize(e) is var data
            ? new StoredEvent(100 + i, "s", i + 1, data.Type, At, data.Data, "h", "p") : null!).ToList();
        stored.Add(new StoredEvent(105, "trace-x", 1, "something.else.v1", At, "{}"u8.ToArray(), "h", "p"));
        return stored;
    }

    private const string Expected =
        "t1\ts1\tprompt_injection\tflag\t0.9\tinput$.q: asks to ignore its instructions\t2026-12-07 10:00:00.000000\t100\tprompt-injection\t3\n" +
        "t1\ts1\tsensitive_data\tflag\t1\toutput$.text: a phone number\t2026-12-07 10:00:01.000000\t102\tsensitive-data\t1\n" +
        "\tguard-103\tprompt_injection\tblock\t0.97\tguard (user_input): a fake system message\t2026-12-07 10:05:00.000000\t103\t\t";

    private Task<string> RowsAsync() => db.Store.QueryTextAsync(Rows, new Dictionary<string, object?> { ["p"] = project });

    [Fact]
    public async Task then_each_finding_event_is_its_row()
    {
        await new SecurityFindingsProjection(db.Store).ApplyAsync(Log(), Ct);

        (await RowsAsync()).ShouldBe(Expected);
    }

    [Fact]
    public async Task then_a_batch_applied_again_or_split_in_any_order_gives_the_same_rows()
    {
        var log = Log();
        var projection = new SecurityFindingsProjection(db.Store);
        await projection.ApplyAsync(log.Skip(3).ToList(), Ct);
        await projection.ApplyAsync(log.Take(3).ToList(), Ct);
        await projection.ApplyAsync(log, Ct);
        await projection.ApplyAsync(log, Ct);

        (await RowsAsync()).ShouldBe(Expected);
        // Merged, the parts hold those rows alone.
        await db.Store.ExecuteAsync("OPTIMIZE TABLE agentstack.security_findings FINAL");
        (await db.Store.QueryTextAsync("SELECT count() FROM agentstack.security_findings WHERE project = {p:String}",
            new Dictionary<string, object?> { ["p"] = project })).ShouldBe("3");
    }
}

public sealed class when_security_events_are_projected_on_chdb(ChDbDatabase db)
    : when_security_events_are_projected(db), IClassFixture<ChDbDatabase>;

public sealed class when_security_events_are_projected_through_clickhouse_driver(ClickHouseDatabase db)
    : when_security_events_are_projected(db), IClassFixture<ClickHouseDatabase>;
