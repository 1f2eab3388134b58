using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace AgentStack.Events;

/// <summary>
/// Stored times are written one way only, RFC 3339 in UTC with exactly six fractional digits
/// (<c>2026-11-24T10:00:00.123456Z</c>), so the log reads the same whatever zone a client used.
/// <para>
/// That one form is written and read digit by digit, not through <see cref="Format"/> and the culture's formatter or
/// <see cref="DateTimeOffset.Parse(string, IFormatProvider?, DateTimeStyles)"/>: a span's event has three times, and
/// formatting them was about 1% of the server's CPU at the peak (BENCHMARKS.md, "Times by hand"). A time in any other
/// form (an event written before the form was fixed) is read as the general parser reads it. A unit test holds both
/// directions to <see cref="Format"/>.
/// </para>
/// </summary>
public sealed class UtcMicrosecondsConverter : JsonConverter<DateTimeOffset>
{
    public const string Format = "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'";

    /// <summary>The length of <see cref="Format"/>'s output: <c>2026-11-24T10:00:00.123456Z</c>.</summary>
    public const int Length = 27;

    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        ReadTime(ref reader);

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options)
    {
        Span<byte> text = stackalloc byte[Length];
        WriteUtf8(value, text);
        writer.WriteStringValue(text);
    }

    /// <summary>A JSON string token as a stored time: the log's own form by hand, anything else as the general parser reads it.</summary>
    public static DateTimeOffset ReadTime(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.String)
            throw new JsonException($"A {reader.TokenType} where a time was expected.");
        if (!reader.ValueIsEscaped && !reader.HasValueSequence && TryParseUtf8(reader.ValueSpan, out var time))
            return time;
        return DateTimeOffset.Parse(reader.GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal);
    }

    /// <summary>
    /// <paramref name="value"/> in UTC as <see cref="Format"/> writes it, into the first <see cref="Length"/> bytes of
    /// <paramref name="destination"/>: the fraction is cut to the microsecond, not rounded, as <c>ffffff</c> cuts it.
    /// </summary>
    public static void WriteUtf8(DateTimeOffset value, Span<byte> destination)
    {
        var utc = value.UtcDateTime;
        var text = destination[..Length];
        Two(text, 0, utc.Year / 100);
        Two(text, 2, utc.Year % 100);
        text[4] = (byte)'-';
        Two(text, 5, utc.Month);
        text[7] = (byte)'-';
        Two(text, 8, utc.Day);
        text[10] = (byte)'T';
        Two(text, 11, utc.Hour);
        text[13] = (byte)':';
        Two(text, 14, utc.Minute);
        text[16] = (byte)':';
        Two(text, 17, utc.Second);
        text[19] = (byte)'.';
        var microseconds = (int)(utc.Ticks % TimeSpan.TicksPerSecond / TimeSpan.TicksPerMicrosecond);
        Two(text, 20, microseconds / 10_000);
        Two(text, 22, microseconds / 100 % 100);
        Two(text, 24, microseconds % 100);
        text[26] = (byte)'Z';
    }

    /// <summary>Exactly the form <see cref="WriteUtf8"/> writes, as a UTC time; false for anything else.</summary>
    public static bool TryParseUtf8(ReadOnlySpan<byte> s, out DateTimeOffset time)
    {
        time = default;
        if (s.Length != Length || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != '.' || s[26] != 'Z'
            || !Digits(s[..4], out var year) || !Digits(s.Slice(5, 2), out var month) || !Digits(s.Slice(8, 2), out var day)
            || !Digits(s.Slice(11, 2), out var hour) || !Digits(s.Slice(14, 2), out var minute) || !Digits(s.Slice(17, 2), out var second)
            || !Digits(s.Slice(20, 6), out var microseconds)
            || year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
            return false;
        time = new DateTimeOffset(new DateTime(year, month, day, hour, minute, second, DateTimeKind.Utc).Ticks
            + microseconds * TimeSpan.TicksPerMicrosecond, TimeSpan.Zero);
        return true;
    }

    private static void Two(Span<byte> text, int at, int value)
    {
        text[at] = (byte)('0' + value / 10);
        text[at + 1] = (byte)('0' + value % 10);
    }

    private static bool Digits(ReadOnlySpan<byte> text, out int value)
    {
        value = 0;
        foreach (var b in text)
        {
            if (b is < (byte)'0' or > (byte)'9')
                return false;
            value = value * 10 + (b - '0');
        }
        return true;
    }
}
