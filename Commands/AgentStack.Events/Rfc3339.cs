namespace AgentStack.Events;

/// <summary>
/// RFC 3339 times as the span JSON and the read API's <c>from</c>/<c>to</c> take them (docs/ingestion.md): a zone
/// is required; whole microseconds are kept, in UTC, as the log stores them (<see cref="UtcMicrosecondsConverter"/>).
/// Here, in the contracts both sides share, so the read side parses times without the write side (issue 13, item 6).
/// <para>
/// Read field by field rather than with a pattern and <see cref="DateTimeOffset.TryParse(string, IFormatProvider?, System.Globalization.DateTimeStyles, out DateTimeOffset)"/>:
/// every span has two times, and the pattern's match objects and the culture-aware parse were a few percent of what
/// ingestion allocated (BENCHMARKS.md, "Reading less of the log"). It accepts and refuses what they did:
/// <c>YYYY-MM-DD</c>, <c>T</c>, <c>t</c> or a space, <c>hh:mm:ss</c>, up to nine fractional digits (cut to the
/// microsecond, not rounded), then <c>Z</c>, <c>z</c> or <c>±hh:mm</c> of at most 14 hours; a date or time that does
/// not exist (February 30th, 24:00, a leap second) is refused. A unit test holds it to the old implementation.
/// </para>
/// </summary>
public static class Rfc3339
{
    private const long MaxOffsetMinutes = 14 * 60;

    public static bool TryParse(string value, out DateTimeOffset result)
    {
        result = default;
        if (value is null)
            return false;
        var s = value.AsSpan();
        // One line feed at the end was always let through (a pattern's "$" matches before it); still so.
        if (s is [.., '\n'])
            s = s[..^1];
        // The shortest is "2026-11-24T10:00:00Z" (20 characters); the longest adds ".123456789" and "+hh:mm" for "Z".
        if (s.Length is < 20 or > 35
            || !Digits(s[..4], out var year) || s[4] != '-' || !Digits(s.Slice(5, 2), out var month) || s[7] != '-'
            || !Digits(s.Slice(8, 2), out var day) || s[10] is not ('T' or 't' or ' ')
            || !Digits(s.Slice(11, 2), out var hour) || s[13] != ':' || !Digits(s.Slice(14, 2), out var minute) || s[16] != ':'
            || !Digits(s.Slice(17, 2), out var second))
            return false;

        var rest = s[19..];
        long microseconds = 0;
        if (rest[0] == '.')
        {
            var digits = 1;
            while (digits < rest.Length && char.IsAsciiDigit(rest[digits]))
                digits++;
            var fraction = rest[1..digits];
            if (fraction.Length is 0 or > 9)
                return false;
            for (var i = 0; i < 6; i++)
                microseconds = microseconds * 10 + (i < fraction.Length ? fraction[i] - '0' : 0);
            rest = rest[digits..];
        }

        long offsetMinutes;
        if (rest is ['Z' or 'z'])
        {
            offsetMinutes = 0;
        }
        else if (rest.Length == 6 && rest[0] is '+' or '-' && Digits(rest.Slice(1, 2), out var offsetHours) && rest[3] == ':'
                 && Digits(rest.Slice(4, 2), out var offsetMinute) && offsetMinute < 60)
        {
            offsetMinutes = (offsetHours * 60 + offsetMinute) * (rest[0] == '-' ? -1 : 1);
            if (Math.Abs(offsetMinutes) > MaxOffsetMinutes)
                return false;
        }
        else
        {
            return false;
        }

        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month)
            || hour > 23 || minute > 59 || second > 59)
            return false;
        var local = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Unspecified).Ticks
                    + microseconds * TimeSpan.TicksPerMicrosecond;
        var utc = local - offsetMinutes * TimeSpan.TicksPerMinute;
        if (utc < DateTime.MinValue.Ticks || utc > DateTime.MaxValue.Ticks)
            return false;
        result = new DateTimeOffset(utc, TimeSpan.Zero);
        return true;
    }

    private static bool Digits(ReadOnlySpan<char> s, out int value)
    {
        value = 0;
        foreach (var c in s)
        {
            if (!char.IsAsciiDigit(c))
                return false;
            value = value * 10 + (c - '0');
        }
        return true;
    }
}
