using System.Globalization;
using System.Text.RegularExpressions;

namespace AgentStack.Events;

/// <summary>
/// RFC 3339 times as the span JSON and the read API's <c>from</c>/<c>to</c> take them (docs/ingestion.md): a zone
/// is required; whole microseconds are kept, in UTC, as the log stores them (<see cref="UtcMicrosecondsConverter"/>).
/// Here, in the contracts both sides share, so the read side parses times without the write side (issue 13, item 6).
/// </summary>
public static partial class Rfc3339
{
    public static bool TryParse(string value, out DateTimeOffset result)
    {
        result = default;
        var match = Pattern().Match(value);
        if (!match.Success)
            return false;
        // .NET parses at most 7 fractional digits; nanoseconds are cut to 100 ns, then to microseconds below.
        var fraction = match.Groups["fraction"].Value;
        var text = fraction.Length > 8 ? value.Remove(match.Groups["fraction"].Index + 8, fraction.Length - 8) : value;
        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out var parsed))
            return false;
        result = new DateTimeOffset(parsed.UtcTicks - parsed.UtcTicks % 10, TimeSpan.Zero);
        return true;
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?<fraction>\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")]
    private static partial Regex Pattern();
}
