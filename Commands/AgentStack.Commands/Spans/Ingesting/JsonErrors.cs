using System.Text.Json;

namespace AgentStack.Commands.Spans.Ingesting;

/// <summary>Turns System.Text.Json's errors into a field path and a sentence a user can act on.</summary>
internal static class JsonErrors
{
    private static readonly Dictionary<string, string> ExpectedTypes = new(StringComparer.Ordinal)
    {
        ["body"] = "an object such as {\"spans\":[...]}",
        ["spans"] = "an array of span objects",
        ["inputTokens"] = "a whole number",
        ["outputTokens"] = "a whole number",
        ["costUsd"] = "a number",
    };

    public static (string Field, string Detail) Describe(JsonException e, IngestOptions limits)
    {
        var field = ToField(e.Path);
        var message = e.Message;
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        if (cut > 0)
            message = message[..cut];

        if (message.Contains("maximum configured depth", StringComparison.Ordinal))
            return (TopField(field), $"{TopField(field)} nests deeper than {limits.MaxDepth} levels");
        if (message.Contains("could not be converted", StringComparison.Ordinal))
        {
            var last = field.Split('.')[^1];
            var bracket = last.IndexOf('[', StringComparison.Ordinal);
            if (bracket >= 0)
                last = last[..bracket];
            var expected = ExpectedTypes.GetValueOrDefault(last, last is "input" or "output" or "attributes" ? "JSON" : "a string");
            return (field, $"{field} has the wrong type: expected {expected}");
        }
        // Malformed JSON is the body's fault as a whole; the path only says how far the parser got.
        var where = e.LineNumber is { } line ? $" at line {line + 1}, byte {e.BytePositionInLine + 1}" : "";
        var near = field == "body" ? "" : $" (in {field})";
        return ("body", $"malformed JSON{where}{near}: {message}");
    }

    /// <summary><c>$.spans[3].startTime</c> → <c>spans[3].startTime</c>.</summary>
    private static string ToField(string? path) =>
        string.IsNullOrEmpty(path) || path == "$" ? "body" : path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path;

    /// <summary><c>spans[0].input.a.b</c> → <c>spans[0].input</c>: the span field the limit applies to.</summary>
    private static string TopField(string field)
    {
        var parts = field.Split('.');
        return parts.Length >= 2 && parts[0].StartsWith("spans[", StringComparison.Ordinal) ? $"{parts[0]}.{parts[1]}" : field;
    }
}
