using System.Globalization;
using System.Text.RegularExpressions;
using AgentStack.Events;

namespace AgentStack.UnitTests.Events;

/// <summary>
/// The field-by-field parser against the pattern and <see cref="DateTimeOffset.TryParse(string, IFormatProvider?, DateTimeStyles, out DateTimeOffset)"/>
/// it replaced, kept here as the oracle: the same answer, and the same time, for every input.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5394:Do not use insecure randomness", Justification = "seeded pseudo-random test inputs, the same on every run; nothing secret is drawn")]
public sealed partial class Rfc3339Tests
{
    [Theory]
    [InlineData("2026-11-24T10:00:00Z", "2026-11-24T10:00:00.000000Z")]
    [InlineData("2026-11-24T10:00:00.123456789Z", "2026-11-24T10:00:00.123456Z")]
    [InlineData("2026-11-24T11:00:01.0000019+01:00", "2026-11-24T10:00:01.000001Z")]
    [InlineData("2026-11-24 05:30:00.5-04:30", "2026-11-24T10:00:00.500000Z")]
    [InlineData("2024-02-29T00:00:00+14:00", "2024-02-28T10:00:00.000000Z")]
    public void a_time_with_a_zone_is_read_in_utc_to_the_microsecond(string text, string utc)
    {
        Rfc3339.TryParse(text, out var parsed).ShouldBeTrue();
        parsed.Offset.ShouldBe(TimeSpan.Zero);
        parsed.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture).ShouldBe(utc);
    }

    [Theory]
    [InlineData("2026-11-24T10:00:00")]
    [InlineData("2026-11-24T10:00Z")]
    [InlineData("2026-02-30T10:00:00Z")]
    [InlineData("2026-11-24T24:00:00Z")]
    [InlineData("2026-11-24T10:00:60Z")]
    [InlineData("2026-11-24T10:00:00.Z")]
    [InlineData("2026-11-24T10:00:00.1234567890Z")]
    [InlineData("2026-11-24T10:00:00+14:01")]
    [InlineData("0000-01-01T00:00:00Z")]
    [InlineData("0001-01-01T00:00:00+01:00")]
    [InlineData("9999-12-31T23:59:59-01:00")]
    [InlineData("yesterday")]
    [InlineData("")]
    public void a_time_without_a_zone_or_that_does_not_exist_is_refused(string text) =>
        Rfc3339.TryParse(text, out _).ShouldBeFalse();

    [Fact]
    public void it_answers_as_the_pattern_and_the_framework_parse_did_for_every_input()
    {
        var random = new Random(3339);
        var differences = new List<string>();
        foreach (var text in Corpus(random))
        {
            var expected = OracleTryParse(text, out var expectedTime);
            var actual = Rfc3339.TryParse(text, out var actualTime);
            if (expected != actual || (expected && expectedTime != actualTime))
                differences.Add($"'{text}': expected {expected} {expectedTime:O}, got {actual} {actualTime:O}");
        }
        differences.ShouldBeEmpty();
    }

    private static IEnumerable<string> Corpus(Random random)
    {
        string[] zones = ["Z", "z", "+00:00", "-00:00", "+01:00", "-04:30", "+05:45", "+13:59", "+14:00", "-14:00", "+14:01", "+23:59", "+01:60", ""];
        string[] separators = ["T", "t", " "];
        for (var i = 0; i < 20_000; i++)
        {
            var year = random.Next(10) == 0 ? random.Next(0, 3) : random.Next(1, 10_000);
            if (random.Next(20) == 0) year = 9999;
            var month = random.Next(0, 14);
            var day = random.Next(0, 33);
            var hour = random.Next(0, 26);
            var minute = random.Next(0, 61);
            var second = random.Next(0, 62);
            var digits = random.Next(0, 11);
            var fraction = digits == 0 ? (random.Next(8) == 0 ? "." : "") : "." + string.Concat(Enumerable.Range(0, digits).Select(_ => (char)('0' + random.Next(10))));
            var text = $"{year:D4}-{month:D2}-{day:D2}{separators[random.Next(separators.Length)]}{hour:D2}:{minute:D2}:{second:D2}{fraction}{zones[random.Next(zones.Length)]}";
            yield return text;
            // and a few characters changed, dropped or added
            var chars = text.ToCharArray().ToList();
            switch (random.Next(5))
            {
                case 3: chars.Add(" \n\t"[random.Next(3)]); break;
                case 0 when chars.Count > 0: chars[random.Next(chars.Count)] = "0123456789-:T Z+.x"[random.Next(18)]; break;
                case 1 when chars.Count > 0: chars.RemoveAt(random.Next(chars.Count)); break;
                case 2: chars.Insert(random.Next(chars.Count + 1), "0123456789-:.Z"[random.Next(14)]); break;
            }
            yield return new string([.. chars]);
        }
    }

    // The implementation this parser replaced.
    private static bool OracleTryParse(string value, out DateTimeOffset result)
    {
        result = default;
        var match = OraclePattern().Match(value);
        if (!match.Success)
            return false;
        var fraction = match.Groups["fraction"].Value;
        var text = fraction.Length > 8 ? value.Remove(match.Groups["fraction"].Index + 8, fraction.Length - 8) : value;
        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out var parsed))
            return false;
        result = new DateTimeOffset(parsed.UtcTicks - parsed.UtcTicks % 10, TimeSpan.Zero);
        return true;
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?<fraction>\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")]
    private static partial Regex OraclePattern();
}
