using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace AgentStack.Events;

/// <summary>
/// Writes a <see cref="JsonElement"/> as the exact UTF-8 text it was parsed from, instead of
/// re-serialising it token by token, so payloads are stored and replayed exactly as received.
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
        writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(element), skipInputValidation: true);
    }
}
