using AgentStack.Events;
using AgentStack.Projections.Analytics;
using AgentStack.Projections.Spans;
using static AgentStack.Analytics.Tests.ChDbTestEngine;

namespace AgentStack.Analytics.Tests.Spans;

/// <summary>
/// Issue 13.4: the projection no longer reads spans back to rebuild traces; it inserts each batch's
/// partial trace summaries into an AggregatingMergeTree. The rows must be the ones the earlier projection
/// gave on the same log, whose SQL is kept here as the reference: spans as before, then every touched
/// trace recomputed from spans FINAL into a ReplacingMergeTree.
/// </summary>
public abstract class when_the_spans_projection_writes_once(AnalyticsDatabase db) : IAsyncLifetime
{
    private readonly string id = Guid.NewGuid().ToString("N")[..10];

    private SpansTables Reference => new($"agentstack.ref_spans_{id}", $"agentstack.ref_traces_{id}");

    private SpansTables New => new($"agentstack.new_spans_{id}", $"agentstack.new_traces_{id}");

    /// <summary>The traces table before issue 13.4 (020_traces.sql as it was).</summary>
    private string ReferenceTracesDdl => $"""
        CREATE TABLE {Reference.Traces}
        (
            project LowCardinality(String), trace_id String, name String, start_time DateTime64(6, 'UTC'),
            end_time Nullable(DateTime64(6, 'UTC')), duration_ms Nullable(Float64), span_count UInt32, open_span_count UInt32,
            error_count UInt32, input_tokens Int64, output_tokens Int64, cost_usd Decimal(18, 9), models Array(String), position UInt64
        )
        ENGINE = ReplacingMergeTree(position)
        ORDER BY (project, trace_id)
        """;

    /// <summary>The statement the earlier projection ran per batch, for the traces the batch touched.</summary>
    private string ReferenceRecompute => $$"""
        INSERT INTO {{Reference.Traces}}
            (project, trace_id, name, start_time, end_time, duration_ms, span_count, open_span_count, error_count,
             input_tokens, output_tokens, cost_usd, models, position)
        SELECT
            project,
            trace_id,
            argMin(name, tuple(parent_span_id != '', start_time)) AS t_name,
            min(start_time) AS t_start,
            maxOrNull(end_time) AS t_end,
            if(t_end IS NULL, NULL, dateDiff('microsecond', t_start, assumeNotNull(t_end)) / 1000.0) AS t_duration,
            count() AS t_spans,
            countIf(end_time IS NULL) AS t_open,
            countIf(status = 'error') AS t_errors,
            sum(ifNull(input_tokens, 0)) AS t_input_tokens,
            sum(ifNull(output_tokens, 0)) AS t_output_tokens,
            sum(ifNull(cost_usd, toDecimal64(0, 9))) AS t_cost,
            arraySort(groupUniqArrayIf(model, model != '')) AS t_models,
            max(position) AS t_position
        FROM {{Reference.Spans}} FINAL
        WHERE project = {project:String} AND trace_id IN {traces:Array(String)}
        GROUP BY project, trace_id
        """;

    private async Task ApplyReferenceAsync(IReadOnlyList<StoredEvent> batch)
    {
        var rows = SpanRows.Of(batch);
        if (rows.Spans.Count == 0)
            return;
        await db.Store.InsertJsonEachRowAsync(Reference.Spans, SpansProjection.SpanRowsJson(rows.Spans), Ct);
        foreach (var project in rows.Traces.GroupBy(t => t.Project))
            await db.Store.ExecuteAsync(ReferenceRecompute, new Dictionary<string, object?>
            {
                ["project"] = project.Key,
                ["traces"] = project.Select(t => t.TraceId).ToArray(),
            }, Ct);
    }

    public async ValueTask InitializeAsync()
    {
        await AnalyticsSchema.ApplyAsync(db.Store, Ct);
        await SpansSchema.CreateAsync(db.Store, New, Ct);
        await db.Store.ExecuteAsync(SpansSchema.CreateStatements(Reference)[0]);
        await db.Store.ExecuteAsync(ReferenceTracesDdl);
    }

    public async ValueTask DisposeAsync()
    {
        await SpansSchema.DropAsync(db.Store, Reference, CancellationToken.None);
        await SpansSchema.DropAsync(db.Store, New, CancellationToken.None);
        GC.SuppressFinalize(this);
    }

    private const string TraceColumns = """
        project, trace_id, name, start_time, end_time, duration_ms, span_count, open_span_count, error_count,
        input_tokens, output_tokens, cost_usd, models, position
        """;

    private const string SpanColumns = """
        project, trace_id, span_id, parent_span_id, name, kind, start_time, end_time, duration_ms, status, status_message,
        model, provider, input_tokens, output_tokens, cost_usd, input, output, attributes, received_at, position
        """;

    private Task<string> RowsAsync(string table, string columns) =>
        db.Store.QueryTextAsync($"SELECT {columns} FROM {table} FINAL ORDER BY project, trace_id{(columns == SpanColumns ? ", span_id" : "")}");

    [Fact]
    public async Task then_a_mixed_log_gives_the_rows_the_recomputing_projection_gave()
    {
        var log = SpanLog.Mixed("p" + id, traces: 300, seed: 13);
        var projection = new SpansProjection(db.Store, New);
        // Uneven batches, so a trace's events fall into several of them, and one batch applied twice.
        var batches = log.Events.Chunk(97).ToList();
        foreach (var batch in batches)
        {
            await projection.ApplyAsync(batch, Ct);
            await ApplyReferenceAsync(batch);
        }
        await projection.ApplyAsync(batches[1], Ct);

        var expected = await RowsAsync(Reference.Traces, TraceColumns);
        expected.Split('\n').Length.ShouldBe(300);
        (await RowsAsync(New.Traces, TraceColumns)).ShouldBe(expected);
        (await RowsAsync(New.Spans, SpanColumns)).ShouldBe(await RowsAsync(Reference.Spans, SpanColumns));
    }

    [Fact]
    public async Task then_the_rows_do_not_depend_on_how_the_log_is_cut_into_batches()
    {
        var log = SpanLog.Mixed("p" + id, traces: 120, seed: 7);
        var projection = new SpansProjection(db.Store, New);
        await projection.ApplyAsync(log.Events, Ct);
        await ApplyReferenceAsync(log.Events);
        var whole = await RowsAsync(New.Traces, TraceColumns);

        // Merged parts and unmerged parts read the same through FINAL.
        await db.Store.ExecuteAsync($"OPTIMIZE TABLE {New.Traces} FINAL");
        (await RowsAsync(New.Traces, TraceColumns)).ShouldBe(whole);
        whole.ShouldBe(await RowsAsync(Reference.Traces, TraceColumns));
    }
}

public sealed class when_the_spans_projection_writes_once_on_chdb(ChDbDatabase db)
    : when_the_spans_projection_writes_once(db), IClassFixture<ChDbDatabase>;

public sealed class when_the_spans_projection_writes_once_through_clickhouse_driver(ClickHouseDatabase db)
    : when_the_spans_projection_writes_once(db), IClassFixture<ClickHouseDatabase>;
