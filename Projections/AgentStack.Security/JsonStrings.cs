using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using AgentStack.Events;

namespace AgentStack.Security;

/// <summary>
/// The text of JSON strings that <see cref="JsonElement.GetString"/> refuses: an escaped lone surrogate (<c>"caf\ud83d"</c>,
/// a string cut inside a pair by the writer, as JavaScript's and Python's JSON writers escape it) is valid JSON that does
/// not decode to UTF-16. Such a surrogate reads as U+FFFD; everything else as the standard decoder reads it. Every reader
/// of recorded text reads it this way (docs/ingestion.md, lone surrogates).
/// </summary>
public static class JsonStrings
{
    /// <summary>The string value's text.</summary>
    public static string Text(JsonElement value)
    {
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            return LoneSurrogates.Text(JsonMarshal.GetRawUtf8Value(value)[1..^1]);
        }
    }

    /// <summary>The property's name.</summary>
    public static string Name(JsonProperty property)
    {
        try
        {
            return property.Name;
        }
        catch (InvalidOperationException)
        {
            return LoneSurrogates.Text(JsonMarshal.GetRawUtf8PropertyName(property));
        }
    }
}

/// <summary>
/// Reads a string as <see cref="JsonStrings"/> does, where the standard converter throws on an escaped lone surrogate: for
/// the text fields of a request (a span's name, a guard request's text), so such a string is text with U+FFFD in its place.
/// </summary>
public sealed class JsonStringConverter : JsonConverter<string>
{
    public override string Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.String ? LoneSurrogates.Text(ref reader) : throw new JsonException(); // the serializer says "could not be converted", with the path

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);
}
