using System.Buffers;
using System.Text.Json;
using AgentStack.Events;

namespace AgentStack.Security.SensitiveData;

/// <summary>
/// A project's choice for personal data and secrets in spans (issue 15): <c>flag</c> (store as sent; the
/// detectors report findings) or <c>mask</c> (replace before storage). Configured under
/// <c>AgentStack:Security:Masking</c>: <c>Default</c>, and <c>Projects:{project}</c> to override it.
/// </summary>
public sealed class MaskingOptions
{
    public const string Section = "AgentStack:Security:Masking";
    public const string Flag = "flag";
    public const string Mask = "mask";

    public string Default { get; set; } = Flag;

    public Dictionary<string, string> Projects { get; set; } = new(StringComparer.Ordinal);

    public bool Masks(string project) =>
        string.Equals(Projects.TryGetValue(project, out var mode) ? mode : Default, Mask, StringComparison.OrdinalIgnoreCase);
}

/// <summary>
/// Masks personal data and secrets in spans before they are sent to be stored: every string of
/// <c>input</c>, <c>output</c> and <c>attributes</c> and the status message. The stored span then holds the
/// masked text, and its attribute <c>agentstack.masked</c> records which kind was masked where
/// (<c>field</c>, JSON <c>path</c>, <c>kind</c>, <c>start</c>, <c>length</c> in the masked string).
/// A span with nothing to mask is returned as the very same record, its JSON untouched byte for byte.
/// </summary>
public static class SpanMasking
{
    public const string MaskedAttribute = "agentstack.masked";

    public static IReadOnlyList<SpanRecord> Apply(IReadOnlyList<SpanRecord> spans, string project, MaskingOptions policy)
    {
        if (!policy.Masks(project))
            return spans;
        var result = new SpanRecord[spans.Count];
        for (var i = 0; i < spans.Count; i++)
            result[i] = Apply(spans[i]);
        return result;
    }

    public static SpanRecord Apply(SpanRecord span)
    {
        var masked = new List<(string Field, string Path, MaskedRange Range)>();
        var input = MaskJson(span.Input, "input", masked);
        var output = MaskJson(span.Output, "output", masked);
        var attributes = MaskJson(span.Attributes, "attributes", masked);
        var status = span.StatusMessage;
        if (status is not null)
        {
            var (text, ranges) = SensitiveDataDetector.Mask(status);
            status = text;
            masked.AddRange(ranges.Select(r => ("statusMessage", "$", r)));
        }
        if (masked.Count == 0)
            return span;
        return span with { Input = input, Output = output, StatusMessage = status, Attributes = WithRecord(attributes, masked) };
    }

    private static JsonElement? MaskJson(JsonElement? value, string field, List<(string, string, MaskedRange)> masked)
    {
        if (value is not { } element)
            return null;
        var before = masked.Count;
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
            Write(writer, element, "$", field, masked);
        return masked.Count == before ? value : JsonElement.Parse(buffer.WrittenSpan);
    }

    private static void Write(Utf8JsonWriter w, JsonElement e, string path, string field, List<(string, string, MaskedRange)> masked)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                w.WriteStartObject();
                foreach (var p in e.EnumerateObject())
                {
                    var name = JsonStrings.Name(p);
                    w.WritePropertyName(name);
                    Write(w, p.Value, $"{path}.{name}", field, masked);
                }
                w.WriteEndObject();
                break;
            case JsonValueKind.Array:
                w.WriteStartArray();
                var i = 0;
                foreach (var item in e.EnumerateArray())
                    Write(w, item, $"{path}[{i++}]", field, masked);
                w.WriteEndArray();
                break;
            case JsonValueKind.String:
                // A lone surrogate (valid JSON, not text) is stored as U+FFFD in a masked payload: the payload is rewritten anyway.
                var (text, ranges) = SensitiveDataDetector.Mask(JsonStrings.Text(e));
                masked.AddRange(ranges.Select(r => (field, path, r)));
                w.WriteStringValue(text);
                break;
            default:
                e.WriteTo(w);
                break;
        }
    }

    /// <summary>The attributes object with the masking record added (an attributes value that is not an object is kept under <c>value</c>).</summary>
    private static JsonElement WithRecord(JsonElement? attributes, List<(string Field, string Path, MaskedRange Range)> masked)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            if (attributes is { ValueKind: JsonValueKind.Object } obj)
            {
                foreach (var p in obj.EnumerateObject())
                    if (p.Name != MaskedAttribute)
                        p.WriteTo(w);
            }
            else if (attributes is { } other)
            {
                w.WritePropertyName("value");
                other.WriteTo(w);
            }
            w.WriteStartArray(MaskedAttribute);
            foreach (var (field, path, range) in masked)
            {
                w.WriteStartObject();
                w.WriteString("field", field);
                w.WriteString("path", path);
                w.WriteString("kind", range.Kind);
                w.WriteNumber("start", range.Start);
                w.WriteNumber("length", range.Length);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return JsonElement.Parse(buffer.WrittenSpan);
    }
}
