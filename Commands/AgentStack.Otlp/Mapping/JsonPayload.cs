using System.Buffers;
using System.Text;
using System.Text.Json;
using OpenTelemetry.Proto.Common.V1;

namespace AgentStack.Otlp.Mapping;

/// <summary>
/// A span's <c>input</c> or <c>output</c> as the conventions found it, written only once the whole request is
/// mapped, into the request's one buffer (<see cref="SpanPayloads"/>). The common case, a sender's attribute that
/// holds JSON text (<c>gen_ai.input.messages</c>, tool arguments), is copied there verbatim after one validating
/// scan: it is no longer parsed into a document of its own and then copied again (issue 5, OTLP throughput).
/// Rarer shapes stay <see cref="JsonElement"/>s built by <see cref="JsonText"/>, or a writer callback.
/// </summary>
internal readonly struct JsonPayload
{
    /// <summary>Which strings are taken as JSON: none, objects and arrays only, or any JSON value.</summary>
    public enum Parse { None, Structured, Any }

    private readonly JsonElement element;
    private readonly AnyValue? value;
    private readonly Parse parse;
    private readonly Action<Utf8JsonWriter>? write;

    private JsonPayload(JsonElement element, AnyValue? value, Parse parse, Action<Utf8JsonWriter>? write)
    {
        this.element = element;
        this.value = value;
        this.parse = parse;
        this.write = write;
    }

    /// <summary>
    /// An attribute value as JSON: a string holding JSON (of the kind <paramref name="parse"/> allows) becomes that
    /// JSON, byte for byte as sent; any other value is written by <see cref="OtlpAttributes.Write"/>.
    /// </summary>
    public static JsonPayload FromValue(AnyValue value, Parse parse = Parse.Structured) => new(default, value, parse, null);

    public static JsonPayload FromWriter(Action<Utf8JsonWriter> write) => new(default, null, Parse.None, write);

    public static implicit operator JsonPayload(JsonElement element) => new(element, null, Parse.None, null);

    /// <summary>Writes the payload as one JSON value; an element is copied as its raw text, as the event stores it.</summary>
    public void WriteTo(Utf8JsonWriter w)
    {
        if (write is not null)
            write(w);
        else if (value is null)
            w.WriteRawValue(System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(element), skipInputValidation: true);
        else if (parse == Parse.None || value.ValueCase != AnyValue.ValueOneofCase.StringValue || !TryWriteJsonText(w, value.StringValue, parse))
            OtlpAttributes.Write(w, value);
    }

    /// <summary>
    /// Writes <paramref name="text"/> raw when the whole of it is one JSON value of the allowed kind (surrounding
    /// whitespace left out), with the rules <see cref="JsonText.TryParseStructured"/> applies: the same reader, depth limit and UTF-8 encoding, so the bytes stored are the ones those gave.
    /// </summary>
    private static bool TryWriteJsonText(Utf8JsonWriter w, string text, Parse parse)
    {
        if (parse == Parse.Structured)
        {
            var first = text.AsSpan().TrimStart();
            if (first.Length == 0 || (first[0] != '{' && first[0] != '['))
                return false;
        }
        var rented = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(text.Length));
        try
        {
            var utf8 = rented.AsSpan(0, Encoding.UTF8.GetBytes(text, rented));
            if (!TryFindValue(utf8, out var start, out var end))
                return false;
            w.WriteRawValue(utf8[start..end], skipInputValidation: true);
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static bool TryFindValue(ReadOnlySpan<byte> utf8, out int start, out int end)
    {
        start = end = 0;
        try
        {
            var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = JsonText.MaxParseDepth });
            if (!reader.Read())
                return false;
            start = (int)reader.TokenStartIndex;
            if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                reader.Skip();
            end = (int)reader.BytesConsumed;
            return JsonText.IsWhitespace(utf8[end..]);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>The payload as an element, for the rare mappings that look inside it (system instructions).</summary>
    public JsonElement ToElement()
    {
        if (value is null && write is null)
            return element;
        var self = this;
        return JsonText.Build(self.WriteTo);
    }
}
