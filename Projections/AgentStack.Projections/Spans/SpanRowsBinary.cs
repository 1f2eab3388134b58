using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using AgentStack.Events;

namespace AgentStack.Projections.Spans;

/// <summary>
/// A batch's rows in ClickHouse's RowBinary format, ready for one insert per table, in pooled buffers: dispose of it
/// once inserted (<see cref="Spans"/> and <see cref="Traces"/> are not valid after that).
/// </summary>
public sealed class SpanRowsEncoded(PooledBufferWriter spans, PooledBufferWriter traces, int spanRows, int traceRows) : IDisposable
{
    public ReadOnlyMemory<byte> Spans => spans.WrittenMemory;

    public ReadOnlyMemory<byte> Traces => traces.WrittenMemory;

    public int SpanRows => spanRows;

    public int TraceRows => traceRows;

    public void Dispose()
    {
        spans.Dispose();
        traces.Dispose();
    }
}

/// <summary>
/// A batch of the log read for rows (<see cref="SpanRowsBinary.ReadAsync"/>): its events, and which of them a later
/// event of the same span in the batch supersedes (<see cref="SpanRowsBinary.Superseded"/>), whose payloads may be
/// left sealed.
/// </summary>
public sealed record SpanBatch(IReadOnlyList<StoredEvent> Events, bool[] Superseded);

/// <summary>
/// The spans projection's rows straight from the stored event JSON, in RowBinary (issue 14, rebuild
/// throughput; BENCHMARKS.md): one <see cref="Utf8JsonReader"/> pass per event, ids and payloads copied
/// as bytes, no <see cref="SpanRecord"/> or <see cref="JsonDocument"/> built and nothing escaped for
/// ClickHouse to unescape. The rows are the ones <see cref="SpanRows.Of"/> and the JSONEachRow encoders
/// describe (a test compares both through chDB); this is the path the live projection and rebuilds use.
/// </summary>
public static class SpanRowsBinary
{
    private static readonly long EpochTicks = DateTime.UnixEpoch.Ticks;

    /// <summary>
    /// The batch's rows; <paramref name="retentionDays"/> gives each project's <c>retention_days</c> (issue 17.3,
    /// docs/retention.md), 0 (kept) without it.
    /// </summary>
    public static SpanRowsEncoded Of(IReadOnlyList<StoredEvent> batch, Func<string, int>? retentionDays = null) =>
        Of(new SpanBatch(batch, Superseded(batch)), retentionDays);

    /// <summary>The rows of a batch <see cref="ReadAsync"/> read, whose superseded events it marked already.</summary>
    public static SpanRowsEncoded Of(SpanBatch batch, Func<string, int>? retentionDays = null)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var (events, superseded) = batch;
        // A span's completion and its start often share a batch; ReplacingMergeTree(position) keeps only the
        // later row, so the earlier one is not written (the rows ClickHouse ends with are the same, half the bytes).
        // Its fields still go into the trace's row.
        var size = 0L;
        for (var i = 0; i < events.Count; i++)
            size += superseded[i] ? 0 : events[i].Data.Length;
        var spans = new PooledBufferWriter((int)Math.Clamp(size, 256, int.MaxValue / 2));
        var traces = new Dictionary<(string Project, string TraceId), TraceBuilder>();
        var rows = 0;
        var span = new SpanFields();
        for (var i = 0; i < events.Count; i++)
        {
            var stored = events[i];
            var phase = stored.Type switch
            {
                EventTypes.SpanStarted => 1,
                EventTypes.SpanCompleted => 2,
                _ => 0,
            };
            if (phase == 0)
                continue;
            if (!span.Read(stored.Data))
                continue;
            var project = span.ProjectString();
            if (!superseded[i])
            {
                WriteSpan(spans, span, stored.Position, RetentionColumn(retentionDays?.Invoke(project) ?? 0));
                rows++;
            }
            var traceId = Encoding.UTF8.GetString(span.TraceId.Span);
            if (!traces.TryGetValue((project, traceId), out var trace))
                traces[(project, traceId)] = trace = new TraceBuilder(project, traceId);
            trace.Add(Encoding.UTF8.GetString(span.SpanId.Span), !span.ParentSpanId.IsEmpty, span.StartTime, span.EndTime,
                span.Name, phase, span.Status.Span.SequenceEqual("error"u8), span.InputTokens ?? 0, span.OutputTokens ?? 0,
                SpanRows.NanoUsd(span.CostUsd), span.Model, stored.Position);
        }
        var parts = new PooledBufferWriter(Math.Max(256, traces.Count * 512));
        foreach (var ((project, _), trace) in traces)
            WriteTrace(parts, trace.Build(), RetentionColumn(retentionDays?.Invoke(project) ?? 0));
        return new SpanRowsEncoded(spans, parts, rows, traces.Count);
    }

    /// <summary>
    /// A batch of the log as <see cref="Of"/> needs it. From a store that seals payloads (<see cref="IEventOpener"/>),
    /// the events are read as stored and opened only where a row is sent: a start its completion supersedes in the
    /// batch stays sealed, and no content hash is opened (half the events and a quarter of the decryptions of a
    /// typical log; BENCHMARKS.md, issue 14). The rows are the same as from <see cref="IEventStore.ReadAllAsync(long, int, CancellationToken)"/>.
    /// </summary>
    public static async Task<SpanBatch> ReadAsync(IEventStore store, long afterPosition, int maxCount,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (store is not IEventOpener opener)
        {
            var events = await store.ReadAllAsync(afterPosition, maxCount, cancellationToken);
            return new SpanBatch(events, Superseded(events));
        }
        var stored = await opener.ReadAllStoredAsync(afterPosition, maxCount, cancellationToken);
        var superseded = Superseded(stored);
        var batch = new StoredEvent[stored.Count];
        for (var i = 0; i < batch.Length; i++)
            batch[i] = superseded[i] ? stored[i] : opener.OpenPayloads(stored[i]);
        return new SpanBatch(batch, superseded);
    }

    /// <summary>
    /// Which of the batch's span events <see cref="Of"/> sends no row for: those a later event of the same span in the
    /// batch supersedes (usually a start and its completion). Only their unsealed fields (ids, names, times, status,
    /// tokens, model) are read, into the trace's row, so a reader may leave their payloads unopened. Reads the ids
    /// alone and stops there.
    /// </summary>
    public static bool[] Superseded(IReadOnlyList<StoredEvent> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var superseded = new bool[batch.Count];
        // Reused by the thread, as its table of a live batch's spans outgrew the small object heap (BENCHMARKS.md).
        var latest = latestOfThread ??= [];
        try
        {
            Mark(batch, superseded, latest);
        }
        finally
        {
            latest.Clear();
        }
        return superseded;
    }

    [ThreadStatic]
    private static Dictionary<(string Project, string TraceId, string SpanId), int>? latestOfThread;

    private static void Mark(IReadOnlyList<StoredEvent> batch, bool[] superseded, Dictionary<(string Project, string TraceId, string SpanId), int> latest)
    {
        for (var i = 0; i < batch.Count; i++)
        {
            if (batch[i].Type is not (EventTypes.SpanStarted or EventTypes.SpanCompleted) || SpanKey(batch[i].Data) is not { } key)
                continue;
            if (latest.TryGetValue(key, out var earlier))
            {
                // The same rule as Of: of two events of a span, the one at the lower position has no row.
                if (batch[earlier].Position > batch[i].Position)
                {
                    superseded[i] = true;
                    continue;
                }
                superseded[earlier] = true;
            }
            latest[key] = i;
        }
    }

    /// <summary>A span event's project, trace id and span id, read until all three are found.</summary>
    private static (string, string, string)? SpanKey(byte[] data)
    {
        string? project = null, traceId = null, spanId = null;
        var reader = new Utf8JsonReader(data);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            return null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("project"u8))
            {
                reader.Read();
                project = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            else if (reader.ValueTextEquals("span"u8))
            {
                if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                    return null;
                while ((traceId is null || spanId is null) && reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isTrace = reader.ValueTextEquals("traceId"u8);
                    var isSpan = !isTrace && reader.ValueTextEquals("spanId"u8);
                    reader.Read();
                    if (isTrace && reader.TokenType == JsonTokenType.String)
                        traceId = reader.GetString();
                    else if (isSpan && reader.TokenType == JsonTokenType.String)
                        spanId = reader.GetString();
                    else
                        reader.Skip();
                }
                if (traceId is null || spanId is null)
                    return null;
                if (project is not null)
                    return (project, traceId, spanId);
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName) // the rest of the span; the project follows
                {
                    reader.Read();
                    reader.Skip();
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        return project is not null && traceId is not null && spanId is not null ? (project, traceId, spanId) : null;
    }

    /// <summary>Columns in 010_spans.sql's order; RowBinary has no names.</summary>
    private static void WriteSpan(PooledBufferWriter w, SpanFields s, long position, ushort retentionDays)
    {
        WriteString(w, s.Project.Span);
        WriteString(w, s.TraceId.Span);
        WriteString(w, s.SpanId.Span);
        WriteString(w, s.ParentSpanId.Span);
        WriteString(w, s.NameBytes.Span);
        WriteString(w, s.Kind.Span);
        WriteInt64(w, Microseconds(s.StartTime));
        if (s.EndTime is { } end)
        {
            WriteByte(w, 0);
            WriteInt64(w, Microseconds(end));
            WriteByte(w, 0);
            WriteInt64(w, BitConverter.DoubleToInt64Bits((end - s.StartTime).TotalMilliseconds));
        }
        else
        {
            WriteByte(w, 1);
            WriteByte(w, 1);
        }
        WriteString(w, s.Status.Span);
        WriteString(w, s.StatusMessage.Span);
        WriteString(w, s.ModelBytes.Span);
        WriteString(w, s.Provider.Span);
        WriteNullable(w, s.InputTokens);
        WriteNullable(w, s.OutputTokens);
        WriteNullable(w, s.CostUsd is { } cost ? SpanRows.NanoUsd(cost) : null);
        WriteNullableBytes(w, s.Input);
        WriteNullableBytes(w, s.Output);
        WriteNullableBytes(w, s.Attributes);
        WriteInt64(w, Microseconds(s.ReceivedAt));
        WriteInt64(w, position);
        WriteUInt16(w, retentionDays);
    }

    /// <summary>Columns in 020_traces.sql's order (ALIAS columns are not sent), encoded as <see cref="SpansProjection.TraceRowsJson"/> describes.</summary>
    private static void WriteTrace(PooledBufferWriter w, TracePart t, ushort retentionDays)
    {
        WriteString(w, t.Project);
        WriteString(w, t.TraceId);
        WriteInt64(w, Microseconds(t.StartTime));
        if (t.EndTime is { } end)
        {
            WriteByte(w, 0);
            WriteInt64(w, Microseconds(end));
        }
        else
        {
            WriteByte(w, 1);
        }
        WriteByte(w, t.RootIsChild ? (byte)1 : (byte)0);
        WriteInt64(w, Microseconds(t.RootStart));
        WriteString(w, t.RootName);
        var spans = t.Spans;
        WriteLength(w, spans.Count);
        foreach (var s in spans)
            WriteString(w, s.SpanId);
        WriteLength(w, spans.Count);
        foreach (var s in spans)
            WriteByte(w, (byte)s.State);
        WritePhased(w, spans, static s => s.InputTokens);
        WritePhased(w, spans, static s => s.OutputTokens);
        WritePhased(w, spans, static s => s.CostNanoUsd);
        WriteLength(w, spans.Count);
        foreach (var s in spans)
        {
            var model = Encoding.UTF8.GetByteCount(s.Model);
            WriteLength(w, model + 1);
            WriteByte(w, (byte)('0' + s.Phase));
            w.Advance(Encoding.UTF8.GetBytes(s.Model, w.GetSpan(model)));
        }
        WriteInt64(w, t.Position);
        WriteUInt16(w, retentionDays);
    }

    /// <summary>The UInt16 column's value; a policy is at most 36,500 days (docs/retention.md).</summary>
    private static ushort RetentionColumn(int days) => (ushort)Math.Clamp(days, 0, ushort.MaxValue);

    /// <summary>UInt128 phase &lt;&lt; 64 | value, little-endian: the low 64 bits first.</summary>
    private static void WritePhased(PooledBufferWriter w, IReadOnlyList<SpanPart> spans, Func<SpanPart, long> value)
    {
        WriteLength(w, spans.Count);
        foreach (var s in spans)
        {
            WriteInt64(w, value(s));
            WriteInt64(w, s.Phase);
        }
    }

    /// <summary>DateTime64(6): microseconds since the epoch, truncated as the text form's six digits are.</summary>
    private static long Microseconds(DateTimeOffset t) => Math.DivRem(t.UtcTicks - EpochTicks, 10, out var rest) - (rest < 0 ? 1 : 0);

    private static void WriteByte(PooledBufferWriter w, byte value)
    {
        w.GetSpan(1)[0] = value;
        w.Advance(1);
    }

    private static void WriteUInt16(PooledBufferWriter w, ushort value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(w.GetSpan(2), value);
        w.Advance(2);
    }

    private static void WriteInt64(PooledBufferWriter w, long value)
    {
        BinaryPrimitives.WriteInt64LittleEndian(w.GetSpan(8), value);
        w.Advance(8);
    }

    private static void WriteNullable(PooledBufferWriter w, long? value)
    {
        if (value is { } v)
        {
            WriteByte(w, 0);
            WriteInt64(w, v);
        }
        else
        {
            WriteByte(w, 1);
        }
    }

    private static void WriteNullableBytes(PooledBufferWriter w, ReadOnlyMemory<byte>? value)
    {
        if (value is { } v)
        {
            WriteByte(w, 0);
            WriteString(w, v.Span);
        }
        else
        {
            WriteByte(w, 1);
        }
    }

    private static void WriteLength(PooledBufferWriter w, int length)
    {
        var span = w.GetSpan(5);
        var at = 0;
        var value = (uint)length;
        while (value >= 0x80)
        {
            span[at++] = (byte)(value | 0x80);
            value >>= 7;
        }
        span[at++] = (byte)value;
        w.Advance(at);
    }

    private static void WriteString(PooledBufferWriter w, ReadOnlySpan<byte> value)
    {
        WriteLength(w, value.Length);
        w.Write(value);
    }

    private static void WriteString(PooledBufferWriter w, string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        WriteLength(w, length);
        w.Advance(Encoding.UTF8.GetBytes(value, w.GetSpan(length)));
    }

    /// <summary>
    /// One span event's fields as slices of its stored bytes (copies only where JSON escaped them), read
    /// with the names and rules of <see cref="EventJsonContext"/>: camelCase, unknown names skipped, the
    /// payloads kept as their exact JSON text (<see cref="RawJsonConverter"/>).
    /// </summary>
    private sealed class SpanFields
    {
        private string? project;
        private byte[] projectBytes = [];

        public ReadOnlyMemory<byte> Project, TraceId, SpanId, ParentSpanId, NameBytes, Kind, Status, StatusMessage, ModelBytes, Provider;
        public ReadOnlyMemory<byte>? Input, Output, Attributes;
        public DateTimeOffset StartTime, ReceivedAt;
        public DateTimeOffset? EndTime;
        public long? InputTokens, OutputTokens;
        public decimal? CostUsd;

        public string Name => Encoding.UTF8.GetString(NameBytes.Span);

        public string Model => ModelBytes.IsEmpty ? "" : Encoding.UTF8.GetString(ModelBytes.Span);

        /// <summary>The project as a string, allocated once per run of events of the same project.</summary>
        public string ProjectString()
        {
            if (project is null || !Project.Span.SequenceEqual(projectBytes))
            {
                projectBytes = Project.ToArray();
                project = Encoding.UTF8.GetString(projectBytes);
            }
            return project;
        }

        /// <summary>False for an event without a span object, which <see cref="SpanRows.Of"/> skips too.</summary>
        public bool Read(byte[] data)
        {
            var hasSpan = false;
            Project = TraceId = SpanId = ParentSpanId = NameBytes = Kind = Status = StatusMessage = ModelBytes = Provider = default;
            Input = Output = Attributes = null;
            StartTime = ReceivedAt = default;
            EndTime = null;
            InputTokens = OutputTokens = null;
            CostUsd = null;
            var reader = new Utf8JsonReader(data);
            Expect(ref reader, JsonTokenType.StartObject);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("project"u8))
                    Project = Text(ref reader, data);
                else if (reader.ValueTextEquals("receivedAt"u8))
                    ReceivedAt = Time(ref reader, data);
                else if (reader.ValueTextEquals("span"u8))
                    hasSpan = ReadSpan(ref reader, data);
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
            return hasSpan;
        }

        private bool ReadSpan(ref Utf8JsonReader reader, byte[] data)
        {
            if (reader.Read() && reader.TokenType == JsonTokenType.Null)
                return false;
            if (reader.TokenType != JsonTokenType.StartObject)
                throw new JsonException($"A span event's JSON has {reader.TokenType} where the span object was expected.");
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("traceId"u8)) TraceId = Text(ref reader, data);
                else if (reader.ValueTextEquals("spanId"u8)) SpanId = Text(ref reader, data);
                else if (reader.ValueTextEquals("parentSpanId"u8)) ParentSpanId = Text(ref reader, data);
                else if (reader.ValueTextEquals("name"u8)) NameBytes = Text(ref reader, data);
                else if (reader.ValueTextEquals("kind"u8)) Kind = Text(ref reader, data);
                else if (reader.ValueTextEquals("startTime"u8)) StartTime = Time(ref reader, data);
                else if (reader.ValueTextEquals("endTime"u8)) EndTime = NullableTime(ref reader, data);
                else if (reader.ValueTextEquals("status"u8)) Status = Text(ref reader, data);
                else if (reader.ValueTextEquals("statusMessage"u8)) StatusMessage = Text(ref reader, data);
                else if (reader.ValueTextEquals("model"u8)) ModelBytes = Text(ref reader, data);
                else if (reader.ValueTextEquals("provider"u8)) Provider = Text(ref reader, data);
                else if (reader.ValueTextEquals("inputTokens"u8)) InputTokens = reader.Read() && reader.TokenType != JsonTokenType.Null ? reader.GetInt64() : null;
                else if (reader.ValueTextEquals("outputTokens"u8)) OutputTokens = reader.Read() && reader.TokenType != JsonTokenType.Null ? reader.GetInt64() : null;
                else if (reader.ValueTextEquals("costUsd"u8)) CostUsd = reader.Read() && reader.TokenType != JsonTokenType.Null ? reader.GetDecimal() : null;
                else if (reader.ValueTextEquals("input"u8)) Input = Raw(ref reader, data);
                else if (reader.ValueTextEquals("output"u8)) Output = Raw(ref reader, data);
                else if (reader.ValueTextEquals("attributes"u8)) Attributes = Raw(ref reader, data);
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
            return true;
        }

        private static void Expect(ref Utf8JsonReader reader, JsonTokenType type)
        {
            if (!reader.Read() || reader.TokenType != type)
                throw new JsonException($"A span event's JSON has {reader.TokenType} where {type} was expected.");
        }

        /// <summary>A string value's UTF-8 bytes; null reads as empty, as the columns store a missing text.</summary>
        private static ReadOnlyMemory<byte> Text(ref Utf8JsonReader reader, byte[] data)
        {
            reader.Read();
            if (reader.TokenType == JsonTokenType.Null)
                return default;
            if (reader.TokenType != JsonTokenType.String)
                throw new JsonException($"A span event's JSON has {reader.TokenType} where a string was expected.");
            if (!reader.ValueIsEscaped && !reader.HasValueSequence)
                return data.AsMemory((int)reader.TokenStartIndex + 1, reader.ValueSpan.Length);
            var copy = new byte[reader.HasValueSequence ? reader.ValueSequence.Length : reader.ValueSpan.Length];
            return copy.AsMemory(0, reader.CopyString(copy));
        }

        private static ReadOnlyMemory<byte>? Raw(ref Utf8JsonReader reader, byte[] data)
        {
            reader.Read();
            if (reader.TokenType == JsonTokenType.Null)
                return null;
            var start = (int)reader.TokenStartIndex;
            reader.Skip();
            var raw = data.AsMemory(start, (int)reader.BytesConsumed - start);
            // ClickHouse's JSON functions read nothing of a document holding an escaped lone surrogate (the session, user and
            // subject of the span's attributes went unseen, by reads and by erasure): the tables hold it as U+FFFD.
            return LoneSurrogates.AsReplacementCharacters(raw.Span) is { } replaced ? replaced : raw;
        }

        private static DateTimeOffset? NullableTime(ref Utf8JsonReader reader, byte[] data)
        {
            if (reader.Read() && reader.TokenType == JsonTokenType.Null)
                return null;
            return UtcMicrosecondsConverter.ReadTime(ref reader);
        }

        private static DateTimeOffset Time(ref Utf8JsonReader reader, byte[] data)
        {
            reader.Read();
            return UtcMicrosecondsConverter.ReadTime(ref reader);
        }
    }
}
