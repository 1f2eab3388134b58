using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace AgentStack.Events;

/// <summary>
/// Stored times are written one way only, RFC 3339 in UTC with exactly six fractional digits
/// (<c>2026-11-24T10:00:00.123456Z</c>), so the log reads the same whatever zone a client used.
/// </summary>
public sealed class UtcMicrosecondsConverter : JsonConverter<DateTimeOffset>
{
    public const string Format = "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'";

    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        DateTimeOffset.Parse(reader.GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal);

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.UtcDateTime.ToString(Format, CultureInfo.InvariantCulture));
}
