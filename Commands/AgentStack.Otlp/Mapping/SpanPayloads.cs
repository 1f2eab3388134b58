using System.Buffers;
using System.Text.Json;
using AgentStack.Commands.Spans.Ingesting;
using AgentStack.Events;

namespace AgentStack.Otlp.Mapping;

/// <summary>
/// The <c>input</c>, <c>output</c> and <c>attributes</c> JSON of every span of one export request, written into one
/// pooled buffer as <c>[[input, output, attributes], …]</c> and parsed once. Each span then gets its own copy of its
/// three values (<see cref="JsonElement.Clone"/>: a copy of bytes and token table, no second parse), so the
/// pooled buffer goes back to the pool and no span keeps the others' text alive. Before, each value was written
/// to a buffer of its own and re-parsed, and JSON carried in strings was parsed on its own first (issue 5, OTLP
/// throughput).
/// </summary>
internal sealed class SpanPayloads : IDisposable
{
    private readonly PooledBufferWriter buffer = new(64 * 1024);
    private readonly Utf8JsonWriter writer;
    private int count;

    public SpanPayloads()
    {
        writer = new Utf8JsonWriter(buffer, JsonText.WriterOptions);
        writer.WriteStartArray();
    }

    /// <summary>Starts the next span's values; write input, output and attributes, then call <see cref="EndSpan"/>.</summary>
    public Utf8JsonWriter BeginSpan(JsonPayload? input, JsonPayload? output)
    {
        writer.WriteStartArray();
        Write(input);
        Write(output);
        return writer;
    }

    public void EndSpan()
    {
        writer.WriteEndArray();
        count++;
    }

    private void Write(JsonPayload? payload)
    {
        if (payload is { } p)
            p.WriteTo(writer);
        else
            writer.WriteNullValue();
    }

    /// <summary>Sets each span's input, output and attributes, in the order they were written; JSON null stays null.</summary>
    public void AttachTo(IReadOnlyList<SpanJson?> spans)
    {
        writer.WriteEndArray();
        writer.Flush();
        // Values carried in strings were scanned to this depth; built ones are shallower than the writer allows.
        using var document = JsonDocument.Parse(buffer.WrittenMemory, new JsonDocumentOptions { MaxDepth = JsonText.MaxParseDepth + 64 });
        var index = 0;
        foreach (var values in document.RootElement.EnumerateArray())
        {
            var span = spans[index++] ?? throw new InvalidOperationException("payloads were written for a span that was not mapped");
            var own = values.Clone();
            var each = own.EnumerateArray();
            span.Input = Next(ref each);
            span.Output = Next(ref each);
            span.Attributes = Next(ref each);
        }
        if (index != count || index != spans.Count)
            throw new InvalidOperationException($"{count} spans' payloads were written for {spans.Count} spans");
    }

    private static JsonElement? Next(ref JsonElement.ArrayEnumerator each)
    {
        each.MoveNext();
        return each.Current.ValueKind == JsonValueKind.Null ? null : each.Current;
    }

    public void Dispose()
    {
        writer.Dispose();
        buffer.Dispose();
    }
}
