using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using AgentStack.Events;
using AgentStack.Projections.Analytics;
using AgentStack.Projections.Running;

namespace AgentStack.Projections.Spans;

/// <summary>
/// Builds the <c>spans</c> and <c>traces</c> tables (Analytics/Schema). Rows are a pure function of the
/// events (versioned by position), so re-applying a batch or rebuilding from 0 gives the same rows.
/// </summary>
public sealed class SpansProjection(IAnalyticsStore analytics) : IProjection
{
    public const string ProjectionName = "analytics";

    public string Name => ProjectionName;

    /// <summary>The most traces recomputed by one statement: about 40 KB of ids in the request URL.</summary>
    public const int RecomputeChunk = 1000;

    public async Task ApplyAsync(IReadOnlyList<StoredEvent> batch, CancellationToken cancellationToken)
    {
        var rows = new ArrayBufferWriter<byte>(batch.Count * 1024);
        var touched = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        using (var writer = new Utf8JsonWriter(rows, new JsonWriterOptions { SkipValidation = true }))
        {
            foreach (var stored in batch)
            {
                var (project, span, receivedAt) = EventTypes.Deserialize(stored.Type, stored.Data) switch
                {
                    SpanStarted e => (e.Project, e.Span, e.ReceivedAt),
                    SpanCompleted e => (e.Project, e.Span, e.ReceivedAt),
                    _ => (null, null, default(DateTimeOffset)),
                };
                if (span is null)
                    continue;
                WriteRow(writer, project!, span, receivedAt, stored.Position);
#pragma warning disable CA1849 // the writer targets an in-memory buffer: Flush does no I/O
                writer.Flush();
#pragma warning restore CA1849
                rows.Write("\n"u8);
                writer.Reset();
                if (!touched.TryGetValue(project!, out var traces))
                    touched[project!] = traces = new HashSet<string>(StringComparer.Ordinal);
                traces.Add(span.TraceId);
            }
        }
        if (rows.WrittenCount == 0)
            return;

        await analytics.InsertJsonEachRowAsync("agentstack.spans", rows.WrittenMemory, cancellationToken);
        // In chunks: over HTTP the trace ids travel in the URL, which a ClickHouse server caps (1 MiB by default).
        foreach (var (project, traceIds) in touched)
            foreach (var chunk in traceIds.Chunk(RecomputeChunk))
                await analytics.ExecuteAsync(RecomputeTraces,
                    new Dictionary<string, object?> { ["project"] = project, ["traces"] = chunk }, cancellationToken);
    }

    /// <summary>
    /// The trace summary from its spans. Aliases carry a t_ prefix because ClickHouse aliases are visible
    /// across the whole SELECT and would otherwise shadow the span columns.
    /// </summary>
    private const string RecomputeTraces = """
        INSERT INTO agentstack.traces
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
        FROM agentstack.spans FINAL
        WHERE project = {project:String} AND trace_id IN {traces:Array(String)}
        GROUP BY project, trace_id
        """;

    private static void WriteRow(Utf8JsonWriter w, string project, SpanRecord s, DateTimeOffset receivedAt, long position)
    {
        w.WriteStartObject();
        w.WriteString("project", project);
        w.WriteString("trace_id", s.TraceId);
        w.WriteString("span_id", s.SpanId);
        w.WriteString("parent_span_id", s.ParentSpanId ?? "");
        w.WriteString("name", s.Name);
        w.WriteString("kind", s.Kind);
        w.WriteString("start_time", ClickHouseTime(s.StartTime));
        if (s.EndTime is { } end)
        {
            w.WriteString("end_time", ClickHouseTime(end));
            w.WriteNumber("duration_ms", (end - s.StartTime).TotalMilliseconds);
        }
        else
        {
            w.WriteNull("end_time");
            w.WriteNull("duration_ms");
        }
        w.WriteString("status", s.Status ?? "");
        w.WriteString("status_message", s.StatusMessage ?? "");
        w.WriteString("model", s.Model ?? "");
        w.WriteString("provider", s.Provider ?? "");
        WriteNullable(w, "input_tokens", s.InputTokens);
        WriteNullable(w, "output_tokens", s.OutputTokens);
        if (s.CostUsd is { } cost)
            w.WriteString("cost_usd", cost.ToString(CultureInfo.InvariantCulture));
        else
            w.WriteNull("cost_usd");
        WriteRaw(w, "input", s.Input);
        WriteRaw(w, "output", s.Output);
        WriteRaw(w, "attributes", s.Attributes);
        w.WriteString("received_at", ClickHouseTime(receivedAt));
        w.WriteNumber("position", position);
        w.WriteEndObject();
    }

    /// <summary>Payloads go into String columns as the exact JSON text received.</summary>
    private static void WriteRaw(Utf8JsonWriter w, string name, JsonElement? value)
    {
        if (value is { } element)
            w.WriteString(name, JsonMarshal.GetRawUtf8Value(element));
        else
            w.WriteNull(name);
    }

    private static void WriteNullable(Utf8JsonWriter w, string name, long? value)
    {
        if (value is { } v)
            w.WriteNumber(name, v);
        else
            w.WriteNull(name);
    }

    public static string ClickHouseTime(DateTimeOffset t) =>
        t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture);
}
