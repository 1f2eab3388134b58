using AgentStack.Queries.Traces;
using System.Globalization;
using AgentStack.Events;
using AgentStack.Events.Anomalies;
using AgentStack.Events.Security;
using AgentStack.Projections.Findings;
using AgentStack.Queries.Findings;
using AgentStack.Queries.Overview;

namespace AgentStack.Dashboard.Tests.Overview;

/// <summary>
/// Each chart's query over rows in the very tables the analytics projection writes (spans, traces) and the
/// detectors fill (findings), on the real engine. Rows are written twice where the
/// projection could re-write them, so FINAL must collapse them.
/// </summary>
public sealed class when_overview_charts_are_queried(OverviewEngine engine) : IClassFixture<OverviewEngine>
{
    private static readonly DateTimeOffset Day = new(2026, 3, 10, 0, 0, 0, TimeSpan.Zero);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly OverviewQueries queries = new(engine.Store, new TraceQueries(engine.Store));

    private static string T(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture);

    private static string Span(string project, string trace, string span, string kind, DateTimeOffset start, double ms,
        string model = "", long? inTokens = null, long? outTokens = null, decimal? cost = null, string status = "ok", long position = 1, string name = "step") =>
        $$"""{"project":"{{project}}","trace_id":"{{trace}}","span_id":"{{span}}","parent_span_id":"","name":"{{name}}","kind":"{{kind}}","start_time":"{{T(start)}}","end_time":"{{T(start.AddMilliseconds(ms))}}","duration_ms":{{ms.ToString(CultureInfo.InvariantCulture)}},"status":"{{status}}","status_message":"","model":"{{model}}","provider":"","input_tokens":{{(inTokens?.ToString(CultureInfo.InvariantCulture) ?? "null")}},"output_tokens":{{(outTokens?.ToString(CultureInfo.InvariantCulture) ?? "null")}},"cost_usd":{{(cost?.ToString(CultureInfo.InvariantCulture) ?? "null")}},"input":null,"output":null,"attributes":null,"received_at":"{{T(start)}}","position":{{position}}}""";

    /// <summary>
    /// A finished trace of three spans as the projection writes it (Analytics/Schema/020_traces.sql): every span
    /// completed (phase 2), the first <paramref name="errors"/> of them in error, no tokens or cost.
    /// </summary>
    private static string Trace(string project, string trace, DateTimeOffset start, int errors, long position = 1, string model = "m")
    {
        const string zero = "36893488147419103232"; // 2 << 64: a completed span's 0
        var states = string.Join(',', Enumerable.Range(0, 3).Select(i => i < errors ? 5 : 4));
        return $$"""{"project":"{{project}}","trace_id":"{{trace}}","start_time":"{{T(start)}}","end_time":"{{T(start.AddSeconds(1))}}","root":[0,"{{T(start)}}","agent"],"spans":[["a","b","c"],[{{states}}],[{{zero}},{{zero}},{{zero}}],[{{zero}},{{zero}},{{zero}}],[{{zero}},{{zero}},{{zero}}],["2{{model}}","2","2"]],"position":{{position}}}""";
    }

    /// <summary>A row of <c>findings</c> (Analytics/Schema/050) as the findings projection writes it: one per finding event, keyed by its position.</summary>
    private static string Finding(string project, string trace, string span, string kind, string action, DateTimeOffset at, long position) =>
        $$"""{"project":"{{project}}","position":{{position}},"source_position":0,"trace_id":"{{trace}}","span_id":"{{span}}","kind":"{{kind}}","rule":"r","severity":"high","score":0.97,"reason":"test","field":"","start":0,"length":0,"action":"{{action}}","detector":"d","detector_version":"1","detected_at":"{{T(at)}}"}""";

    private static OverviewRange Range(string bucket) => new(Day, Day.AddDays(1), bucket);

    [Fact]
    public async Task when_llm_spans_have_models_then_usage_sums_cost_and_tokens_per_hour_and_model()
    {
        const string p = "usage";
        await engine.InsertAsync("agentstack.spans",
            Span(p, "t1", "a", "llm", Day.AddHours(1), 100, "gpt-4o", 100, 20, 0.5m),
            Span(p, "t1", "a", "llm", Day.AddHours(1), 100, "gpt-4o", 100, 20, 0.5m, position: 2), // re-written row: counted once
            Span(p, "t1", "b", "llm", Day.AddHours(1).AddMinutes(30), 100, "gpt-4o", 50, 10, 0.25m),
            Span(p, "t2", "c", "llm", Day.AddHours(1), 100, "claude", 7, 3, 0.1m),
            Span(p, "t2", "d", "tool", Day.AddHours(2), 100),
            Span(p, "t3", "e", "llm", Day.AddDays(2), 100, "gpt-4o", 999, 999, 9m)); // outside the range

        var usage = await queries.GetUsageAsync(p, Range("hour"), Ct);

        usage.Points.Select(x => (x.Bucket, x.Model, x.Calls, x.InputTokens, x.OutputTokens, x.CostUsd)).ShouldBe(
        [
            ("2026-03-10T01:00:00Z", "claude", 1L, 7L, 3L, 0.1m),
            ("2026-03-10T01:00:00Z", "gpt-4o", 2L, 150L, 30L, 0.75m),
        ]);
    }

    [Fact]
    public async Task when_findings_are_stored_then_security_counts_anomalies_and_blocked_injections_per_day()
    {
        const string p = "security";
        await engine.InsertAsync("agentstack.findings",
            Finding(p, "", "", "prompt_injection", "block", Day.AddHours(3), position: 1),
            Finding(p, "", "", "prompt_injection", "block", Day.AddHours(3), position: 1), // the same event projected again: once
            Finding(p, "t2", "s2", "prompt_injection", "flag", Day.AddHours(4), position: 2), // detected in a span, not blocked
            Finding(p, "t3", "s3", "anomaly", "flag", Day.AddHours(5), position: 3),
            Finding(p, "t4", "s4", "anomaly", "flag", Day.AddDays(1).AddHours(5), position: 4),
            Finding(p, "t5", "s5", "sensitive_data", "block", Day.AddDays(1).AddHours(6), position: 5));

        var security = await queries.GetSecurityAsync(p, new OverviewRange(Day, Day.AddDays(3), "day"), Ct);

        security.Days.ShouldBe(
        [
            new SecurityDay("2026-03-10", 1, 1, 1),
            new SecurityDay("2026-03-11", 1, 0, 0),
            new SecurityDay("2026-03-12", 0, 0, 0),
        ]);
        security.TotalFindings.ShouldBe(4);
    }

    /// <summary>Issue 15.5: detections, a guard block and an anomaly through the findings projection (twice) into the findings queries.</summary>
    [Fact]
    public async Task when_finding_events_are_projected_then_each_is_listed_once_with_its_agent_and_counted_over_time()
    {
        const string p = "findings";
        await engine.InsertAsync("agentstack.traces", Trace(p, "t1", Day, errors: 0));
        var at = Day.AddHours(2);
        object[] events =
        [
            new DetectionRecorded(p, "t1", "s1", 10, "input$.q", "prompt_injection", "override", 0.9, "high", "asks to ignore its instructions", 3, 20,
                "prompt-injection", "3", at),
            new DetectionRecorded(p, "t1", "s1", 10, "input$.q", "sensitive_data", "email", 1, "medium", "an e-mail address", 30, 15, "sensitive-data", "1", at),
            new DetectionRecorded(p, "t1", "s1", 10, "input$.q", "sensitive_data", "phone", 1, "medium", "a phone number", 50, 12, "sensitive-data", "1", at),
            new GuardBlocked(p, "user_input", 0.97, [new GuardFindingRecord("prompt_injection", 0.97, "a fake system message", 0, 9)], "sha", 40,
                "prompt-injection", "3", at.AddMinutes(5), "key-1"),
            new AnomalyDetected("a1", p, "agent", "agent", "latency_ms", 9000, 900, 700, 1500, 12, "critical", "t1", "s1",
                "agent 'agent' latency_ms 9000 ms; expected 900 ms", at.AddHours(1), "anomalies", "1"),
        ];
        var stored = events.Select((e, i) => EventTypes.Serialize(e) is var data
            ? new StoredEvent(100 + i, "s", i + 1, data.Type, at, data.Data, "h", "p") : null!).ToList();
        var projection = new FindingsProjection(engine.Store);
        await projection.ApplyAsync(stored, Ct);
        await projection.ApplyAsync(stored, Ct); // a batch handed again: the same rows

        var findings = new FindingsQueries(engine.Store);
        var all = await findings.ListAsync(p, new FindingsFilter(null, null, null, null, null, null, Limit: 50), Ct);
        all.Items.Select(f => f.Position).ShouldBe([104L, 103L, 102L, 101L, 100L]); // newest first
        all.Next.ShouldBeNull();
        all.Items.Where(f => f.TraceId == "t1").ShouldAllBe(f => f.Agent == "agent");
        var guard = all.Items.Single(f => f.Action == "block");
        (guard.Kind, guard.TraceId, guard.Severity, guard.Reason, guard.Field).ShouldBe(("prompt_injection", "", "high", "a fake system message", "user_input"));
        var anomaly = all.Items.Single(f => f.Kind == "anomaly");
        (anomaly.Rule, anomaly.Field, anomaly.Severity, anomaly.SourcePosition, anomaly.SpanId).ShouldBe(("latency_ms", "agent:agent", "critical", 0L, "s1"));
        var injection = all.Items.Single(f => f.Kind == "prompt_injection" && f.Action == "flag");
        (injection.SourcePosition, injection.Start, injection.Length, injection.DetectorVersion).ShouldBe((10L, 3, 20, "3"));

        (await findings.ListAsync(p, new FindingsFilter(null, null, "sensitive_data", "medium", "agent", "t1"), Ct)).Items.Count.ShouldBe(2);
        (await findings.ListAsync(p, new FindingsFilter(null, null, null, null, "other-agent", null), Ct)).Items.ShouldBeEmpty();
        (await findings.ListAsync(p, new FindingsFilter(at.AddMinutes(1), null, null, null, null, null), Ct)).Items.Count.ShouldBe(2);

        var first = await findings.ListAsync(p, new FindingsFilter(null, null, null, null, null, null, Limit: 2), Ct);
        var second = await findings.ListAsync(p, new FindingsFilter(null, null, null, null, null, null, Limit: 2, Cursor: first.Next), Ct);
        var third = await findings.ListAsync(p, new FindingsFilter(null, null, null, null, null, null, Limit: 2, Cursor: second.Next), Ct);
        first.Items.Concat(second.Items).Concat(third.Items).Select(f => f.Position).ShouldBe([104L, 103L, 102L, 101L, 100L]);
        third.Next.ShouldBeNull();

        var chart = await findings.OverTimeAsync(p, Range("hour"), new FindingsFilter(null, null, null, null, null, null), Ct);
        chart.Total.ShouldBe(5);
        chart.Points.ShouldBe(
        [
            new FindingsPoint("2026-03-10T02:00:00Z", "prompt_injection", "high", 2),
            new FindingsPoint("2026-03-10T02:00:00Z", "sensitive_data", "medium", 2),
            new FindingsPoint("2026-03-10T03:00:00Z", "anomaly", "critical", 1),
        ]);
        var security = await queries.GetSecurityAsync(p, new OverviewRange(Day, Day.AddDays(1), "day"), Ct);
        security.Days.ShouldBe([new SecurityDay("2026-03-10", 1, 1, 1)]);
    }

    /// <summary>
    /// Issue 15.6: a newer detector version hides the earlier version's detections, which it re-runs over history, but
    /// never a guard block, which nothing re-runs. The detector has a name of its own: detector_versions has no
    /// project, and the engine is shared by this class.
    /// </summary>
    [Fact]
    public async Task when_a_newer_detector_version_is_activated_then_guard_blocks_of_the_earlier_one_are_still_listed_and_counted()
    {
        const string p = "guard-versions";
        const string detector = "prompt-injection-guard-versions";
        var at = Day.AddHours(6);
        object[] events =
        [
            new GuardBlocked(p, "user_input", 0.97, [new GuardFindingRecord("prompt_injection", 0.97, "a fake system message", 0, 9)], "sha", 40,
                detector, "1", at, "key-1"),
            new DetectionRecorded(p, "t1", "s1", 10, "input$.q", "prompt_injection", "override", 0.9, "high", "asks to ignore its instructions", 3, 20,
                detector, "1", at),
        ];
        var stored = events.Select((e, i) => EventTypes.Serialize(e) is var data
            ? new StoredEvent(200 + i, "s", i + 1, data.Type, at, data.Data, "h", "p") : null!).ToList();
        await new FindingsProjection(engine.Store).ApplyAsync(stored, Ct);
        await engine.InsertAsync("agentstack.detector_versions",
            $$"""{"detector":"{{detector}}","version":"1","run_by":"detections","activated_at":"{{T(Day)}}"}""",
            $$"""{"detector":"{{detector}}","version":"2","run_by":"detections-2","activated_at":"{{T(Day.AddHours(1))}}"}""");

        var findings = new FindingsQueries(engine.Store);
        var all = await findings.ListAsync(p, new FindingsFilter(null, null, null, null, null, null), Ct);
        all.Items.ShouldHaveSingleItem().Action.ShouldBe("block"); // the version-1 detection gave way to version 2's
        (await findings.OverTimeAsync(p, Range("hour"), new FindingsFilter(null, null, null, null, null, null), Ct)).Total.ShouldBe(1);
        var security = await queries.GetSecurityAsync(p, new OverviewRange(Day, Day.AddDays(1), "day"), Ct);
        security.Days.ShouldBe([new SecurityDay("2026-03-10", 0, 1, 0)]);
    }

    [Fact]
    public async Task when_no_findings_exist_then_security_is_all_zero_days()
    {
        var security = await queries.GetSecurityAsync("nobody", new OverviewRange(Day, Day.AddDays(2), "day"), Ct);

        security.TotalFindings.ShouldBe(0);
        security.Days.Count.ShouldBe(2);
    }

    [Fact]
    public async Task when_traces_call_tools_and_models_then_latency_sums_external_and_llm_time_per_trace()
    {
        const string p = "latency";
        await engine.InsertAsync("agentstack.spans",
            Span(p, "t1", "a", "agent", Day.AddHours(1), 900),
            Span(p, "t1", "b", "llm", Day.AddHours(1), 300, "gpt-4o"),
            Span(p, "t1", "c", "tool", Day.AddHours(1).AddSeconds(1), 120),
            Span(p, "t1", "d", "retrieval", Day.AddHours(1).AddSeconds(2), 80),
            Span(p, "t2", "e", "llm", Day.AddHours(2), 50, "gpt-4o", status: "error"));

        var latency = await queries.GetLatencyAsync(p, Range("hour"), 100, Ct);

        latency.Points.Select(x => (x.TraceId, x.ExternalMs, x.LlmMs, x.Status)).ShouldBe(
        [
            ("t2", 0d, 50d, "error"),
            ("t1", 200d, 300d, "ok"),
        ]);
    }

    [Fact]
    public async Task when_some_traces_fail_then_the_error_rate_is_per_bucket()
    {
        const string p = "errors";
        await engine.InsertAsync("agentstack.traces",
            Trace(p, "t1", Day.AddHours(1), 0),
            Trace(p, "t2", Day.AddHours(1).AddMinutes(5), 2),
            Trace(p, "t2", Day.AddHours(1).AddMinutes(5), 2, position: 2),
            Trace(p, "t3", Day.AddHours(1).AddMinutes(9), 0),
            Trace(p, "t4", Day.AddHours(1).AddMinutes(9), 0),
            Trace(p, "t5", Day.AddHours(4), 1));

        var errors = await queries.GetErrorRateAsync(p, Range("hour"), Ct);

        errors.Points.ShouldBe(
        [
            new ErrorRatePoint("2026-03-10T01:00:00Z", 4, 1, 0.25),
            new ErrorRatePoint("2026-03-10T04:00:00Z", 1, 1, 1),
        ]);
    }

    [Fact]
    public async Task when_models_answer_at_different_speeds_then_p50_and_p95_are_exact_per_model()
    {
        const string p = "models";
        var spans = Enumerable.Range(1, 20).Select(i => Span(p, "t1", $"s{i}", "llm", Day.AddHours(1).AddSeconds(i), i * 10, "fast"))
            .Append(Span(p, "t2", "x", "llm", Day.AddHours(2), 1000, "slow"))
            .ToArray();
        await engine.InsertAsync("agentstack.spans", spans);

        var models = await queries.GetModelLatencyAsync(p, Range("hour"), Ct);

        // quantileExact picks the element at floor(q * n): 0.5 * 20 = 10 → the 11th smallest (110 ms); 0.95 * 20 = 19 → 200 ms.
        models.Models.ShouldBe([new ModelLatency("fast", 20, 110, 200), new ModelLatency("slow", 1, 1000, 1000)]);
    }

    [Fact]
    public async Task when_traces_are_searched_then_model_kind_and_text_narrow_the_list()
    {
        const string p = "search";
        await engine.InsertAsync("agentstack.spans",
            Span(p, "t1", "a", "llm", Day.AddHours(1), 10, "gpt-4o", name: "plan refund"),
            Span(p, "t2", "b", "tool", Day.AddHours(2), 10, name: "lookup_order"),
            Span(p, "t3", "c", "llm", Day.AddHours(3), 10, "claude", name: "answer"));
        await engine.InsertAsync("agentstack.traces",
            Trace(p, "t1", Day.AddHours(1), 0, model: "gpt-4o"),
            Trace(p, "t2", Day.AddHours(2), 1, model: ""),
            Trace(p, "t3", Day.AddHours(3), 0, model: "claude"));

        async Task<string[]> Search(string? model = null, string? kind = null, string? text = null, string? status = null) =>
            (await queries.SearchTracesAsync(p, new TraceSearchFilter(Day, Day.AddDays(1), status, model, kind, text, 50, null), Ct))
                .Items.Select(t => t.TraceId).ToArray();

        (await Search()).ShouldBe(["t3", "t2", "t1"]);
        (await Search(model: "claude")).ShouldBe(["t3"]);
        (await Search(kind: "tool")).ShouldBe(["t2"]);
        (await Search(text: "REFUND")).ShouldBe(["t1"]);
        (await Search(kind: "llm", status: "ok")).ShouldBe(["t3", "t1"]);
    }
}
