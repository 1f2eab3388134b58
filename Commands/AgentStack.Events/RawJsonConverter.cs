using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace AgentStack.Events;

/// <summary>
/// Writes a <see cref="JsonElement"/> as the exact UTF-8 text it was parsed from, instead of
/// re-serialising it token by token, so payloads are stored and replayed as received: escapes, spacing, key order and
/// number forms stay. One change: a line break becomes a space. Valid JSON holds line breaks only between tokens (a
/// string holds them escaped), so the value means the same, and every stored event is one line, as the replay's NDJSON
/// gives it (docs/ingestion.md).
/// </summary>
public sealed class RawJsonConverter : JsonConverter<JsonElement?>
{
    public override bool HandleNull => true;

    public override JsonElement? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null)
            return null;
        return JsonElement.ParseValue(ref reader);
    }

    public override void Write(Utf8JsonWriter writer, JsonElement? value, JsonSerializerOptions options)
    {
        if (value is not { } element || element.ValueKind == JsonValueKind.Undefined)
        {
            writer.WriteNullValue();
            return;
        }
        var raw = JsonMarshal.GetRawUtf8Value(element);
        if (raw.IndexOfAny((byte)'\r', (byte)'\n') < 0)
        {
            writer.WriteRawValue(raw, skipInputValidation: true);
            return;
        }
        // Sent pretty-printed: rare, so the copy costs nothing on the usual path.
        var oneLine = raw.ToArray().AsSpan();
        oneLine.Replace((byte)'\r', (byte)' ');
        oneLine.Replace((byte)'\n', (byte)' ');
        writer.WriteRawValue(oneLine, skipInputValidation: true);
    }
}
