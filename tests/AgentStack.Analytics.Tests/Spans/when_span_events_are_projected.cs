using AgentStack.Events;
using AgentStack.Projections.Analytics;
using AgentStack.Projections.Spans;
using static AgentStack.Analytics.Tests.ChDbTestEngine;
using static AgentStack.Analytics.Tests.Spans.SpanLog;

namespace AgentStack.Analytics.Tests.Spans;

/// <summary>
/// The spans projection's spec (issue 13 acceptance): given stored events, then these rows, first as a plain
/// function (<see cref="SpanRows.Of"/>), then through the real engine; re-applying a batch changes nothing.
/// </summary>
public static class SpanProjectionSpec
{
    public static readonly DateTimeOffset At = T0;

    /// <summary>A root started then completed with tokens; a child tool completed at once, in error; a child left open.</summary>
    public static SpanLog Given(string project) => new SpanLog(project)
        .Started(Span("t1", "root", null, "agent run", At, 500))
        .Completed(Span("t1", "tool", "root", "lookup", At.AddMilliseconds(10), 40, status: "error", kind: "tool"))
        .Started(Span("t1", "open", "root", "waiting", At.AddMilliseconds(20)))
        .Completed(Span("t1", "root", null, "agent run", At, 500, model: "gpt-4o", inputTokens: 120, outputTokens: 30, cost: 0.0015m));
}

public sealed class when_span_events_are_projected_as_a_plain_function
{
    [Fact]
    public void then_each_event_is_a_span_row_and_the_batch_one_partial_trace()
    {
        var rows = SpanRows.Of(SpanProjectionSpec.Given("p").Events);

        rows.Spans.Select(r => (r.Span.SpanId, r.Span.EndTime is not null, r.Position)).ShouldBe(
            [("root", false, 1L), ("tool", true, 2L), ("open", false, 3L), ("root", true, 4L)]);
        var trace = rows.Traces.ShouldHaveSingleItem();
        trace.ShouldBe(new TracePart("p", "t1", SpanProjectionSpec.At, SpanProjectionSpec.At.AddMilliseconds(500), false,
            SpanProjectionSpec.At, "agent run", trace.Spans, 4));
        // The completed root wins over its start; the open span stays started (phase 1).
        trace.Spans.ShouldBe(
        [
            new SpanPart("open", 1, false, 0, 0, 0, ""),
            new SpanPart("root", 2, false, 120, 30, 1_500_000, "gpt-4o"),
            new SpanPart("tool", 2, true, 0, 0, 0, ""),
        ]);
    }

    [Fact]
    public void then_a_start_completed_in_the_same_batch_is_not_sent()
    {
        var events = SpanProjectionSpec.Given("p").Events;

        // The root's start (position 1) is superseded by its completion (4): ReplacingMergeTree would keep only that.
        var rows = SpanRowsBinary.Of(events);
        rows.SpanRows.ShouldBe(3);
        rows.TraceRows.ShouldBe(1);
        SpanRowsBinary.Of(events.Take(3).ToList()).SpanRows.ShouldBe(3);
        // Whatever order a batch comes in, the later event's row is the one kept.
        SpanRowsBinary.Of([.. events.AsEnumerable().Reverse()]).Spans.ToArray().Length.ShouldBe(rows.Spans.Length);
    }

    [Fact]
    public void then_events_of_other_types_add_no_rows()
    {
        var other = new StoredEvent(1, "trace-p-t1", 1, "something.else.v1", SpanProjectionSpec.At, "{}"u8.ToArray(), "h", "");
        var rows = SpanRows.Of([other]);
        rows.Spans.ShouldBeEmpty();
        rows.Traces.ShouldBeEmpty();
    }
}

public abstract class when_span_events_are_projected(AnalyticsDatabase db)
{
    private const string TraceRow = """
        SELECT name, start_time, end_time, duration_ms, span_count, open_span_count, error_count, input_tokens, output_tokens,
               cost_usd, models, position
        FROM agentstack.traces FINAL WHERE project = {p:String}
        """;

    private const string SpanRowsSql = """
        SELECT span_id, parent_span_id, kind, end_time IS NULL, status, model, input_tokens, cost_usd, position
        FROM agentstack.spans FINAL WHERE project = {p:String} ORDER BY span_id
        """;

    [Fact]
    public async Task then_the_engine_holds_these_rows_and_re_applying_the_batch_changes_nothing()
    {
        var project = "p" + Guid.NewGuid().ToString("N")[..12];
        await AnalyticsSchema.ApplyAsync(db.Store, Ct);
        var projection = new SpansProjection(db.Store);
        var events = SpanProjectionSpec.Given(project).Events;
        var parameters = new Dictionary<string, object?> { ["p"] = project };

        await projection.ApplyAsync(events, Ct);
        var trace = await db.Store.QueryTextAsync(TraceRow, parameters);
        var spans = await db.Store.QueryTextAsync(SpanRowsSql, parameters);
        // Before any merge: the root's start, superseded in the batch, was never written.
        (await db.Store.QueryTextAsync("SELECT count() FROM agentstack.spans WHERE project = {p:String}", parameters)).ShouldBe("3");

        trace.ShouldBe("agent run\t2026-11-24 10:00:00.000000\t2026-11-24 10:00:00.500000\t500\t3\t1\t1\t120\t30\t0.0015\t['gpt-4o']\t4");
        spans.ShouldBe(string.Join('\n',
            "open\troot\tllm\t1\tok\t\t\\N\t\\N\t3",
            "root\t\tllm\t0\tok\tgpt-4o\t120\t0.0015\t4",
            "tool\troot\ttool\t0\terror\t\t\\N\t\\N\t2"));

        // A crash after the inserts but before the checkpoint: the runner applies the batch again, and a part of it.
        await projection.ApplyAsync(events, Ct);
        await projection.ApplyAsync(events.Take(2).ToList(), Ct);
        (await db.Store.QueryTextAsync(TraceRow, parameters)).ShouldBe(trace);
        (await db.Store.QueryTextAsync(SpanRowsSql, parameters)).ShouldBe(spans);
    }

    /// <summary>
    /// The projection sends RowBinary built from the stored JSON (issue 14); the JSONEachRow encoders are the
    /// reference. Positions around 2,570 put 0x0A0A (an empty line, which ends chDB's inline data) in the rows,
    /// and names and payloads hold escapes, newlines, non-ASCII text and an escaped lone surrogate (U+FFFD in both).
    /// </summary>
    [Fact]
    public async Task then_the_binary_rows_equal_the_text_rows_whatever_bytes_they_hold()
    {
        var id = Guid.NewGuid().ToString("N")[..10];
        SpansTables binary = new($"agentstack.bin_spans_{id}", $"agentstack.bin_traces_{id}"), text = new($"agentstack.txt_spans_{id}", $"agentstack.txt_traces_{id}");
        await AnalyticsSchema.ApplyAsync(db.Store, Ct);
        await SpansSchema.CreateAsync(db.Store, binary, Ct);
        await SpansSchema.CreateAsync(db.Store, text, Ct);
        var payload = System.Text.Json.JsonDocument.Parse("{\n\n  \"prompt\": \"line\\n\\nnext \\\"quoted\\\" é 東京 cut \\ud83d\"\n}").RootElement.Clone();
        var log = SpanProjectionSpec.Given("p" + id)
            .Completed(Span("t2", "s\"1\"", null, "naïve \"name\"\n\nwith lines", SpanProjectionSpec.At, 7.25, model: "m\u00e9") with { Input = payload, Output = payload, Attributes = payload });
        var events = log.Events.Select((e, i) => e with { Position = 2568 + i }).ToList();

        await new SpansProjection(db.Store, binary).ApplyAsync(events, Ct);
        var rows = SpanRows.Of(events);
        await db.Store.InsertJsonEachRowAsync(text.Spans, SpansProjection.SpanRowsJson(rows.Spans), Ct);
        await db.Store.InsertJsonEachRowAsync(text.Traces, SpansProjection.TraceRowsJson(rows.Traces), Ct);

        var parity = await AgentStack.Projections.Spans.Rebuilding.ProjectionParity.CompareAsync(db.Store, text, binary, Ct);
        parity.Spans.Rows.ShouldBe(4);
        parity.Traces.Rows.ShouldBe(2);
        parity.Equal.ShouldBeTrue(parity.ToString());
        (await db.Store.QueryTextAsync($"SELECT input FROM {binary.Spans} FINAL WHERE trace_id = 't2'", null))
            .ShouldBe(await db.Store.QueryTextAsync($"SELECT input FROM {text.Spans} FINAL WHERE trace_id = 't2'", null));
        await SpansSchema.DropAsync(db.Store, binary, Ct);
        await SpansSchema.DropAsync(db.Store, text, Ct);
    }
}

public sealed class when_span_events_are_projected_on_chdb(ChDbDatabase db)
    : when_span_events_are_projected(db), IClassFixture<ChDbDatabase>;

public sealed class when_span_events_are_projected_through_clickhouse_driver(ClickHouseDatabase db)
    : when_span_events_are_projected(db), IClassFixture<ClickHouseDatabase>;
