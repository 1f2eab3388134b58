using System.Globalization;
using System.Text;
using System.Text.Json;
using AgentStack.Events;

namespace AgentStack.UnitTests.Events;

/// <summary>
/// The stored time written and read digit by digit against what it replaced, kept here as the oracle: the culture's
/// formatter with <see cref="UtcMicrosecondsConverter.Format"/> and <see cref="DateTimeOffset.Parse(string, IFormatProvider?, DateTimeStyles)"/>.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5394:Do not use insecure randomness", Justification = "seeded pseudo-random test inputs, the same on every run; nothing secret is drawn")]
public sealed class StoredTimeTests
{
    private static readonly JsonSerializerOptions Options = new() { Converters = { new UtcMicrosecondsConverter() } };

    [Fact]
    public void every_time_is_written_as_the_format_wrote_it()
    {
        var differences = new List<string>();
        foreach (var time in Times(new Random(27)))
        {
            var expected = JsonSerializer.Serialize(time.UtcDateTime.ToString(UtcMicrosecondsConverter.Format, CultureInfo.InvariantCulture));
            var actual = JsonSerializer.Serialize(time, Options);
            if (actual != expected)
                differences.Add($"{time:O}: expected {expected}, got {actual}");
        }
        differences.ShouldBeEmpty();
    }

    [Fact]
    public void every_time_written_reads_back_as_the_framework_parse_read_it()
    {
        var differences = new List<string>();
        foreach (var time in Times(new Random(28)))
        {
            var json = JsonSerializer.Serialize(time, Options);
            var expected = DateTimeOffset.Parse(JsonSerializer.Deserialize<string>(json)!, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal);
            var actual = JsonSerializer.Deserialize<DateTimeOffset>(json, Options);
            if (actual != expected || actual.Offset != TimeSpan.Zero || actual.UtcTicks % TimeSpan.TicksPerMicrosecond != 0)
                differences.Add($"{json}: expected {expected:O}, got {actual:O}");
        }
        differences.ShouldBeEmpty();
    }

    [Theory]
    [InlineData("\"2026-11-24T11:00:01.000001+01:00\"", "2026-11-24T10:00:01.0000010+00:00")]
    [InlineData("\"2026-11-24T10:00:00Z\"", "2026-11-24T10:00:00.0000000+00:00")]
    [InlineData("\"2026-11-24T10:00:00.1234567Z\"", "2026-11-24T10:00:00.1234567+00:00")]
    [InlineData("\"2026\\u002D11-24T10:00:00.123456Z\"", "2026-11-24T10:00:00.1234560+00:00")]
    public void a_time_in_another_form_is_read_as_the_framework_parse_reads_it(string json, string expected) =>
        JsonSerializer.Deserialize<DateTimeOffset>(json, Options).ToString("O", CultureInfo.InvariantCulture).ShouldBe(expected);

    [Theory]
    [InlineData("2026-02-30T10:00:00.000000Z")]
    [InlineData("2026-11-24T24:00:00.000000Z")]
    [InlineData("2026-11-24T10:60:00.000000Z")]
    [InlineData("2026-11-24T10:00:60.000000Z")]
    [InlineData("2026-13-24T10:00:00.000000Z")]
    [InlineData("0000-11-24T10:00:00.000000Z")]
    [InlineData("2026-11-24T10:00:00.00000aZ")]
    [InlineData("2026-11-24T10:00:00.000000+")]
    [InlineData("2026-11-24 10:00:00.000000Z")]
    [InlineData("+026-11-24T10:00:00.000000Z")]
    [InlineData("2026-11-24T10:00:00.0000000Z")]
    public void only_the_one_form_is_taken_by_hand(string text) =>
        UtcMicrosecondsConverter.TryParseUtf8(Encoding.UTF8.GetBytes(text), out _).ShouldBeFalse();

    [Fact]
    public void a_time_that_is_not_a_string_is_refused() =>
        Should.Throw<JsonException>(() => JsonSerializer.Deserialize<DateTimeOffset>("12", Options));

    private static IEnumerable<DateTimeOffset> Times(Random random)
    {
        yield return DateTimeOffset.MinValue;
        yield return DateTimeOffset.MaxValue;
        yield return new DateTimeOffset(2024, 2, 29, 23, 59, 59, TimeSpan.Zero).AddTicks(9_999_999);
        for (var i = 0; i < 50_000; i++)
        {
            var offset = TimeSpan.FromMinutes(random.Next(-14 * 60, 14 * 60 + 1));
            var ticks = random.NextInt64(DateTime.MinValue.Ticks + TimeSpan.TicksPerDay, DateTime.MaxValue.Ticks - TimeSpan.TicksPerDay);
            yield return new DateTimeOffset(new DateTime(ticks, DateTimeKind.Unspecified), offset);
        }
    }
}
