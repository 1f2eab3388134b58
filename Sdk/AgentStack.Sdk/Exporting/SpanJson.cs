using System.Buffers;
using System.Collections;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AgentStack.Sdk.Exporting;

/// <summary>Writes the body of <c>POST /v1/spans</c> by hand: no reflection, field names as in docs/architecture.md.</summary>
internal static class SpanJson
{
    /// <summary>RFC 3339 with microseconds, e.g. <c>2026-01-31T12:00:00.123456Z</c>.</summary>
    public static string Time(DateTimeOffset t) =>
        t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary><c>{"spans":[…]}</c> around spans already written by <see cref="Encode"/>.</summary>
    public static void WriteBatch(Stream body, IReadOnlyList<byte[]> spans)
    {
        body.Write("{\"spans\":["u8);
        for (var i = 0; i < spans.Count; i++)
        {
            if (i > 0)
                body.WriteByte((byte)',');
            body.Write(spans[i]);
        }
        body.Write("]}"u8);
    }

    [ThreadStatic] private static ArrayBufferWriter<byte>? spanBuffer;

    /// <summary>The span's JSON object, as it stands in a batch.</summary>
    public static byte[] Encode(SpanData span)
    {
        var buffer = spanBuffer ??= new ArrayBufferWriter<byte>(4096);
        buffer.ResetWrittenCount();
        using (var writer = new Utf8JsonWriter(buffer))
            WriteSpan(writer, span);
        var json = buffer.WrittenSpan.ToArray();
        if (buffer.Capacity > 1 << 20)
            spanBuffer = null;
        return json;
    }

    private static void WriteSpan(Utf8JsonWriter w, SpanData s)
    {
        w.WriteStartObject();
        w.WriteString("traceId", s.TraceId);
        w.WriteString("spanId", s.SpanId);
        if (s.ParentSpanId is not null)
            w.WriteString("parentSpanId", s.ParentSpanId);
        w.WriteString("name", s.Name);
        w.WriteString("kind", s.Kind);
        w.WriteString("startTime", Time(s.StartTime));
        // A start record has no end and no outcome yet (the span contract: no endTime means started).
        if (!s.IsStart)
        {
            w.WriteString("endTime", Time(s.EndTime < s.StartTime ? s.StartTime : s.EndTime));
            w.WriteString("status", s.Status);
        }
        if (s.StatusMessage is not null)
            w.WriteString("statusMessage", s.StatusMessage);
        if (s.Model is not null)
            w.WriteString("model", s.Model);
        if (s.Provider is not null)
            w.WriteString("provider", s.Provider);
        if (s.InputTokens is { } input)
            w.WriteNumber("inputTokens", input);
        if (s.OutputTokens is { } output)
            w.WriteNumber("outputTokens", output);
        if (s.CostUsd is { } cost)
            w.WriteNumber("costUsd", cost);
        if (s.Input is not null)
        {
            w.WritePropertyName("input");
            s.Input.WriteTo(w);
        }
        if (s.Output is not null)
        {
            w.WritePropertyName("output");
            s.Output.WriteTo(w);
        }
        if (s.Attributes.Count > 0)
        {
            w.WriteStartObject("attributes");
            foreach (var (key, value) in s.Attributes)
            {
                w.WritePropertyName(key);
                WriteValue(w, value, depth: 0);
            }
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    private static void WriteValue(Utf8JsonWriter w, object? value, int depth)
    {
        switch (value)
        {
            case null: w.WriteNullValue(); break;
            case string s: w.WriteStringValue(s); break;
            case bool b: w.WriteBooleanValue(b); break;
            case int i: w.WriteNumberValue(i); break;
            case long l: w.WriteNumberValue(l); break;
            case short sh: w.WriteNumberValue(sh); break;
            case uint ui: w.WriteNumberValue(ui); break;
            case ulong ul: w.WriteNumberValue(ul); break;
            case decimal m: w.WriteNumberValue(m); break;
            case double d when double.IsFinite(d): w.WriteNumberValue(d); break;
            case float f when float.IsFinite(f): w.WriteNumberValue(f); break;
            case JsonNode node: node.WriteTo(w); break;
            case JsonElement element: element.WriteTo(w); break;
            case DateTimeOffset dto: w.WriteStringValue(Time(dto)); break;
            case DateTime dt: w.WriteStringValue(Time(new DateTimeOffset(DateTime.SpecifyKind(dt, DateTimeKind.Utc)))); break;
            case IEnumerable items when depth < 4:
                w.WriteStartArray();
                foreach (var item in items)
                    WriteValue(w, item, depth + 1);
                w.WriteEndArray();
                break;
            default: w.WriteStringValue(System.Convert.ToString(value, CultureInfo.InvariantCulture)); break;
        }
    }
}
