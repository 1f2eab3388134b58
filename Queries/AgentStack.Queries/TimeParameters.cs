using AgentStack.Events;

namespace AgentStack.Queries;

/// <summary>The <c>from</c> and <c>to</c> every list and chart takes.</summary>
internal static class TimeParameters
{
    /// <summary>
    /// An RFC 3339 time, or null when the parameter is absent or empty (as a form sends a field left blank); anything
    /// else is an error under <paramref name="field"/>.
    /// </summary>
    public static DateTimeOffset? Parse(string? value, string field, Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrEmpty(value))
            return null;
        if (Rfc3339.TryParse(value, out var time))
            return time;
        errors[field] = [$"{field} must be an RFC 3339 time such as 2026-01-31T12:00:00Z"];
        return null;
    }
}
