using AgentStack.Events;
using AgentStack.Projections.Analytics;
using AgentStack.Projections.Retention;
using AgentStack.Projections.Spans;
using AgentStack.Analytics.Tests.Spans;
using static AgentStack.Analytics.Tests.ChDbTestEngine;
using static AgentStack.Analytics.Tests.Spans.SpanLog;

namespace AgentStack.Analytics.Tests.Retention;

/// <summary>
/// Issue 17.3 in the engine: rows carry <c>retention_days</c>, a TTL deletes those past it, rows written under
/// another policy are brought in line, and tables from before the column get it (docs/retention.md).
/// </summary>
public sealed class when_a_project_keeps_spans_for_some_days(ChDbDatabase db) : IClassFixture<ChDbDatabase>
{
    private static readonly DateTimeOffset Old = DateTimeOffset.UtcNow.AddDays(-40);
    private static readonly DateTimeOffset Young = DateTimeOffset.UtcNow.AddHours(-1);

    private const string Remaining = """
        SELECT trace_id, retention_days FROM agentstack.spans FINAL WHERE project = {p:String} ORDER BY trace_id
        """;

    private static IReadOnlyList<StoredEvent> Events(string project) => new SpanLog(project)
        .Completed(Span("old", "s", null, "old run", Old, 100))
        .Completed(Span("young", "s", null, "young run", Young, 100))
        .Events;

    [Fact]
    public async Task then_rows_past_the_policy_go_and_younger_ones_stay()
    {
        var project = "r" + Guid.NewGuid().ToString("N")[..12];
        var p = new Dictionary<string, object?> { ["p"] = project };
        await AnalyticsSchema.ApplyAsync(db.Store, Ct);
        // Written before any policy: the column's default, 0, keeps them.
        await new SpansProjection(db.Store).ApplyAsync(Events(project), Ct);
        (await RetentionTables.ApplyAsync(db.Store, null, project, 0, Ct)).ShouldBe((0L, 0L, 0L));
        (await db.Store.QueryTextAsync(Remaining, p)).ShouldBe("old\t0\nyoung\t0");

        (await RetentionTables.ApplyAsync(db.Store, null, project, 30, Ct)).ShouldBe((1L, 1L, 0L));
        (await RetentionTables.ApplyAsync(db.Store, null, project, 30, Ct)).ShouldBe((0L, 0L, 0L));

        (await db.Store.QueryTextAsync(Remaining, p)).ShouldBe("young\t30");
        (await db.Store.QueryTextAsync("SELECT trace_id FROM agentstack.traces FINAL WHERE project = {p:String}", p)).ShouldBe("young");
    }

    [Fact]
    public async Task then_findings_detected_before_the_policy_are_deleted_and_younger_ones_stay()
    {
        var project = "r" + Guid.NewGuid().ToString("N")[..12];
        var p = new Dictionary<string, object?> { ["p"] = project };
        await AnalyticsSchema.ApplyAsync(db.Store, Ct);
        foreach (var (trace, at, position) in new[] { ("old", Old, 1), ("young", Young, 2) })
        {
            var time = SpansProjection.ClickHouseTime(at);
            await db.Store.InsertAsync("agentstack.findings", $$"""
                {"project":"{{project}}","position":{{position}},"trace_id":"{{trace}}","span_id":"s","kind":"sensitive_data","reason":"an e-mail address","detected_at":"{{time}}"}
                """);
            await db.Store.InsertAsync("agentstack.security_findings", $$"""
                {"project":"{{project}}","trace_id":"{{trace}}","span_id":"s","kind":"pii","action":"allow","score":1,"reason":"an e-mail address","detected_at":"{{time}}","position":{{position}}}
                """);
        }

        (await RetentionTables.ApplyAsync(db.Store, null, project, 30, Ct)).Findings.ShouldBe(2);
        (await RetentionTables.ApplyAsync(db.Store, null, project, 30, Ct)).Findings.ShouldBe(0);

        (await db.Store.QueryTextAsync("SELECT trace_id FROM agentstack.findings FINAL WHERE project = {p:String}", p)).ShouldBe("young");
        (await db.Store.QueryTextAsync("SELECT trace_id FROM agentstack.security_findings FINAL WHERE project = {p:String}", p)).ShouldBe("young");
    }

    [Fact]
    public async Task then_rows_the_projection_wrote_with_the_policy_expire_by_the_ttl()
    {
        var project = "r" + Guid.NewGuid().ToString("N")[..12];
        await AnalyticsSchema.ApplyAsync(db.Store, Ct);
        var rows = SpanRows.Of(Events(project));
        await db.Store.InsertJsonEachRowAsync("agentstack.spans", SpansProjection.SpanRowsJson(rows.Spans, _ => 7), Ct);
        await db.Store.InsertJsonEachRowAsync("agentstack.traces", SpansProjection.TraceRowsJson(rows.Traces, _ => 7), Ct);

        // The TTL alone, forced as ClickHouse's next merge would apply it.
        await db.Store.ExecuteAsync("OPTIMIZE TABLE agentstack.spans FINAL");
        (await db.Store.QueryTextAsync(Remaining, new Dictionary<string, object?> { ["p"] = project })).ShouldBe("young\t7");
    }

    [Fact]
    public async Task then_tables_from_before_the_column_are_upgraded()
    {
        // The two tables as 010_spans.sql and 020_traces.sql created them before issue 17.3, in this class's database.
        foreach (var statement in SpansSchema.CreateStatements(new SpansTables($"{db.Name}.spans", $"{db.Name}.traces")))
        {
            var old = string.Join('\n', statement.Split('\n').Where(l => !l.Contains("retention_days", StringComparison.Ordinal)))
                .Replace("position UInt64,", "position UInt64", StringComparison.Ordinal);
            await db.Store.ExecuteAsync(old);
        }
        (await db.Store.QueryTextAsync($"SELECT count() FROM system.columns WHERE database = '{db.Name}' AND name = 'retention_days'")).ShouldBe("0");

        await RetentionTables.UpgradeAsync(db.Store, null, Ct, db.Name);
        await RetentionTables.UpgradeAsync(db.Store, null, Ct, db.Name);

        (await db.Store.QueryTextAsync($"SELECT count() FROM system.columns WHERE database = '{db.Name}' AND name = 'retention_days'")).ShouldBe("2");
        (await db.Store.QueryTextAsync($"SELECT countIf(create_table_query LIKE '%TTL%') FROM system.tables WHERE database = '{db.Name}'")).ShouldBe("2");
    }

    /// <summary>
    /// The longest policy allowed, 36,500 days, ends past DateTime's last day (2106-02-07). Computed in DateTime, the end
    /// wrapped round to 1970 and the TTL deleted every row at once; the retention run counted them all expired too.
    /// </summary>
    [Fact]
    public async Task then_a_policy_reaching_past_2106_keeps_its_rows()
    {
        var project = "r" + Guid.NewGuid().ToString("N")[..12];
        await AnalyticsSchema.ApplyAsync(db.Store, Ct);
        var rows = SpanRows.Of(Events(project));
        await db.Store.InsertJsonEachRowAsync("agentstack.spans", SpansProjection.SpanRowsJson(rows.Spans, _ => 36500), Ct);
        await db.Store.InsertJsonEachRowAsync("agentstack.traces", SpansProjection.TraceRowsJson(rows.Traces, _ => 36500), Ct);

        (await RetentionTables.ApplyAsync(db.Store, null, project, 36500, Ct)).ShouldBe((0L, 0L, 0L));
        await db.Store.ExecuteAsync("OPTIMIZE TABLE agentstack.spans FINAL");
        (await db.Store.QueryTextAsync(Remaining, new Dictionary<string, object?> { ["p"] = project })).ShouldBe("old\t36500\nyoung\t36500");
    }

    [Fact]
    public async Task then_tables_with_the_ttl_that_wrapped_get_the_capped_one()
    {
        var database = db.Name + "_wrapping";
        await db.Store.ExecuteAsync($"CREATE DATABASE IF NOT EXISTS {database}");
        foreach (var statement in SpansSchema.CreateStatements(new SpansTables($"{database}.spans", $"{database}.traces")))
        {
            var ttl = statement.IndexOf("TTL toDateTime(least(", StringComparison.Ordinal);
            var end = statement.IndexOf('\n', ttl);
            await db.Store.ExecuteAsync(statement[..ttl] + "TTL toDateTime(start_time) + toIntervalDay(retention_days) WHERE retention_days > 0" + statement[end..]);
        }

        await RetentionTables.UpgradeAsync(db.Store, null, Ct, database);
        await RetentionTables.UpgradeAsync(db.Store, null, Ct, database);

        (await db.Store.QueryTextAsync($"SELECT countIf(position(engine_full, 'least(') > 0) FROM system.tables WHERE database = '{database}'")).ShouldBe("2");
    }
}
