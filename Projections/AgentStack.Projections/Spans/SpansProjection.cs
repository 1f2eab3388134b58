using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using AgentStack.Events;
using AgentStack.Projections.Analytics;
using AgentStack.Projections.Retention;
using AgentStack.Projections.Running;

namespace AgentStack.Projections.Spans;

/// <summary>
/// Builds the <c>spans</c> and <c>traces</c> tables (Analytics/Schema) with two inserts per batch and no
/// read (issue 13.4): a row per span event into <c>spans</c> (ReplacingMergeTree by position), and per
/// trace the batch's partial summary into <c>traces</c> (AggregatingMergeTree; idempotent merges). Rows
/// are a pure function of the events (<see cref="SpanRows.Of"/>), so re-applying a batch, applying the
/// log's parts in any order, or rebuilding from 0 gives the same rows. They are sent in RowBinary, built
/// straight from the stored JSON (<see cref="SpanRowsBinary"/>, issue 14's rebuild throughput); the
/// JSONEachRow encoders below describe the same rows in text and serve as the reference in tests. With
/// <paramref name="retention"/>, each row also carries its project's retention policy (<c>retention_days</c>,
/// issue 17.3); rows written under an older policy are brought in line by the retention worker (docs/retention.md).
/// </summary>
public sealed class SpansProjection(IAnalyticsStore analytics, SpansTables tables, RetentionPolicies? retention = null) : IProjection
{
    public const string ProjectionName = "analytics";

    public SpansProjection(IAnalyticsStore analytics) : this(analytics, SpansTables.Current)
    {
    }

    public SpansProjection(IAnalyticsStore analytics, RetentionPolicies retention) : this(analytics, SpansTables.Current, retention)
    {
    }

    public string Name => ProjectionName;

    public SpansTables Tables => tables;

    public async Task ApplyAsync(IReadOnlyList<StoredEvent> batch, CancellationToken cancellationToken)
    {
        using var rows = await EncodeAsync(batch, cancellationToken);
        await InsertAsync(rows, cancellationToken);
    }

    /// <summary>
    /// Encodes a batch with each project's <c>retention_days</c>. The encoder is synchronous, so it reads the cached
    /// policies; a project whose policy is not cached is read from the log and the batch encoded again (at most once
    /// per project per <see cref="RetentionPolicies.CacheLifetime"/>).
    /// </summary>
    public Task<SpanRowsEncoded> EncodeAsync(IReadOnlyList<StoredEvent> batch, CancellationToken cancellationToken) =>
        EncodeAsync(new SpanBatch(batch, SpanRowsBinary.Superseded(batch)), cancellationToken);

    /// <summary>The same for a batch read for rows (<see cref="SpanRowsBinary.ReadAsync"/>, a rebuild's).</summary>
    public async Task<SpanRowsEncoded> EncodeAsync(SpanBatch batch, CancellationToken cancellationToken)
    {
        if (retention is null)
            return SpanRowsBinary.Of(batch);
        var uncached = new HashSet<string>(StringComparer.Ordinal);
        int Days(string project)
        {
            if (retention.TryGetCached(project, out var policy))
                return policy.ColumnValue;
            uncached.Add(project);
            return 0;
        }
        var rows = SpanRowsBinary.Of(batch, Days);
        if (uncached.Count == 0)
            return rows;
        rows.Dispose();
        var policies = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var project in uncached)
            policies[project] = (await retention.GetAsync(project, cancellationToken)).ColumnValue;
        return SpanRowsBinary.Of(batch, project => policies.TryGetValue(project, out var days) ? days : Days(project));
    }

    /// <summary>Inserts rows already encoded (a rebuild encodes the next batch while this one is inserted); the caller disposes of them after.</summary>
    public async Task InsertAsync(SpanRowsEncoded rows, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.SpanRows == 0)
            return;
        await analytics.InsertRowBinaryAsync(tables.Spans, rows.Spans, cancellationToken);
        await analytics.InsertRowBinaryAsync(tables.Traces, rows.Traces, cancellationToken);
    }

    /// <summary>The <c>spans</c> rows as JSONEachRow; <paramref name="retentionDays"/> gives each project's <c>retention_days</c> (else the column's default, 0).</summary>
    public static ReadOnlyMemory<byte> SpanRowsJson(IReadOnlyList<SpanRow> spans, Func<string, int>? retentionDays = null)
    {
        var buffer = new ArrayBufferWriter<byte>(spans.Count * 1024);
        using var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true });
        foreach (var row in spans)
        {
            var s = row.Span;
            w.WriteStartObject();
            w.WriteString("project", row.Project);
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
            w.WriteString("received_at", ClickHouseTime(row.ReceivedAt));
            w.WriteNumber("position", row.Position);
            if (retentionDays is not null)
                w.WriteNumber("retention_days", retentionDays(row.Project));
            w.WriteEndObject();
            EndLine(w, buffer);
        }
        return buffer.WrittenMemory;
    }

    /// <summary>The <c>traces</c> partial rows as JSONEachRow, in the encoding 020_traces.sql describes.</summary>
    public static ReadOnlyMemory<byte> TraceRowsJson(IReadOnlyList<TracePart> traces, Func<string, int>? retentionDays = null)
    {
        var buffer = new ArrayBufferWriter<byte>(traces.Count * 256);
        using var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true });
        foreach (var t in traces)
        {
            w.WriteStartObject();
            w.WriteString("project", t.Project);
            w.WriteString("trace_id", t.TraceId);
            w.WriteString("start_time", ClickHouseTime(t.StartTime));
            if (t.EndTime is { } end)
                w.WriteString("end_time", ClickHouseTime(end));
            else
                w.WriteNull("end_time");
            w.WriteStartArray("root");
            w.WriteNumberValue(t.RootIsChild ? 1 : 0);
            w.WriteStringValue(ClickHouseTime(t.RootStart));
            w.WriteStringValue(t.RootName);
            w.WriteEndArray();
            w.WriteStartArray("spans");
            w.WriteStartArray();
            foreach (var s in t.Spans)
                w.WriteStringValue(s.SpanId);
            w.WriteEndArray();
            w.WriteStartArray();
            foreach (var s in t.Spans)
                w.WriteNumberValue(s.State);
            w.WriteEndArray();
            WritePhased(w, t.Spans, s => s.InputTokens);
            WritePhased(w, t.Spans, s => s.OutputTokens);
            WritePhased(w, t.Spans, s => s.CostNanoUsd);
            w.WriteStartArray();
            foreach (var s in t.Spans)
                w.WriteStringValue(s.Phase.ToString(CultureInfo.InvariantCulture) + s.Model);
            w.WriteEndArray();
            w.WriteEndArray();
            w.WriteNumber("position", t.Position);
            if (retentionDays is not null)
                w.WriteNumber("retention_days", retentionDays(t.Project));
            w.WriteEndObject();
            EndLine(w, buffer);
        }
        return buffer.WrittenMemory;
    }

    /// <summary>phase &lt;&lt; 64 | value as UInt64: the completed event's value is always the larger.</summary>
    private static void WritePhased(Utf8JsonWriter w, IReadOnlyList<SpanPart> spans, Func<SpanPart, long> value)
    {
        w.WriteStartArray();
        foreach (var s in spans)
            w.WriteRawValue(((UInt128)(ulong)s.Phase << 64 | unchecked((ulong)value(s))).ToString(CultureInfo.InvariantCulture), skipInputValidation: true);
        w.WriteEndArray();
    }

    private static void EndLine(Utf8JsonWriter w, ArrayBufferWriter<byte> buffer)
    {
#pragma warning disable CA1849 // the writer targets an in-memory buffer: Flush does no I/O
        w.Flush();
#pragma warning restore CA1849
        buffer.Write("\n"u8);
        w.Reset();
    }

    /// <summary>
    /// Payloads go into String columns as the JSON text received, an escaped lone surrogate written <c>\ufffd</c> as
    /// <see cref="SpanRowsBinary"/> writes it (ClickHouse's JSON functions read nothing of a document holding one).
    /// </summary>
    private static void WriteRaw(Utf8JsonWriter w, string name, JsonElement? value)
    {
        if (value is not { } element)
        {
            w.WriteNull(name);
            return;
        }
        var raw = JsonMarshal.GetRawUtf8Value(element);
        w.WriteString(name, LoneSurrogates.AsReplacementCharacters(raw) is { } replaced ? replaced : raw);
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
