using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace AgentStack.Otlp.Mapping;

/// <summary>Small JSON helpers for the mapper: build a self-contained <see cref="JsonElement"/>, embed JSON carried in strings.</summary>
internal static class JsonText
{
    // Relaxed escaping keeps text as the sender wrote it (no \u00B0 for °); the output is JSON data, never HTML.
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>How deeply JSON carried in a string may nest to be taken as JSON (deeper is kept as the string).</summary>
    public const int MaxParseDepth = 256;

    /// <summary>Writes with <paramref name="write"/> and returns the result as an element that owns its memory.</summary>
    public static JsonElement Build(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
            write(w);
        var reader = new Utf8JsonReader(buffer.WrittenSpan);
        return JsonElement.ParseValue(ref reader);
    }

    /// <summary>Parses <paramref name="text"/> when it holds a JSON object or array (GenAI attributes carry structured
    /// values as JSON strings); null when it does not.</summary>
    public static JsonElement? TryParseStructured(string? text)
    {
        if (string.IsNullOrEmpty(text))
            return null;
        var first = text.AsSpan().TrimStart();
        if (first.Length == 0 || (first[0] != '{' && first[0] != '['))
            return null;
        return TryParseWhole(text);
    }

    /// <summary>The one JSON value <paramref name="text"/> holds, surrounding whitespace aside; null when it holds anything else.</summary>
    private static JsonElement? TryParseWhole(string text)
    {
        try
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { MaxDepth = MaxParseDepth });
            var element = JsonElement.ParseValue(ref reader);
            return reader.BytesConsumed == bytes.Length || IsWhitespace(bytes.AsSpan((int)reader.BytesConsumed)) ? element : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Writes a string that may hold JSON: as that JSON when it does (object/array), else as the string.</summary>
    public static void WriteMaybeJson(Utf8JsonWriter w, string text)
    {
        if (TryParseStructured(text) is { } element)
            element.WriteTo(w);
        else
            w.WriteStringValue(text);
    }

    public static bool IsWhitespace(ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
                return false;
        return true;
    }
}
