using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace AgentStack.Anomalies.Detecting;

/// <summary>
/// Loops (issue 15, point 3): the same tool called with the same arguments again and again in one trace.
/// Arguments are compared by their canonical JSON (object members sorted by name, no whitespace), so
/// <c>{"a":1,"b":2}</c> and <c>{ "b": 2, "a": 1 }</c> are the same call.
/// </summary>
public static class LoopDetector
{
    /// <summary>The SHA-256 (hex) of the canonical JSON of <paramref name="arguments"/>; of <c>null</c> when absent.</summary>
    public static string ArgumentsHash(JsonElement? arguments)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        try
        {
            using var writer = new Utf8JsonWriter(buffer);
            if (arguments is { } value)
                WriteCanonical(writer, value);
            else
                writer.WriteNullValue();
        }
        catch (InvalidOperationException)
        {
            // A string holding an escaped lone surrogate ("\ud83d": cut inside a pair by the writer) is valid JSON that does
            // not decode to UTF-16: such arguments compare as written (a span the projection could not pass otherwise).
            return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(arguments!.Value.GetRawText())));
        }
        return Convert.ToHexStringLower(SHA256.HashData(buffer.WrittenSpan));
    }

    /// <summary>
    /// The loops of one whole trace: each (tool, arguments) called at least <paramref name="threshold"/>
    /// times, with the count, in order of first call.
    /// </summary>
    public static IReadOnlyList<(string Tool, string ArgumentsHash, int Calls)> Find(
        IEnumerable<(string Tool, JsonElement? Arguments)> toolCalls, int threshold)
    {
        var counts = new Dictionary<(string, string), int>();
        var order = new List<(string, string)>();
        foreach (var (tool, arguments) in toolCalls)
        {
            var key = (tool, ArgumentsHash(arguments));
            if (counts.TryGetValue(key, out var n))
                counts[key] = n + 1;
            else
            {
                counts[key] = 1;
                order.Add(key);
            }
        }
        return [.. order.Where(k => counts[k] >= threshold).Select(k => (k.Item1, k.Item2, counts[k]))];
    }

    private static void WriteCanonical(Utf8JsonWriter writer, JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                foreach (var property in element.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
                {
                    writer.WritePropertyName(property.Name);
                    WriteCanonical(writer, property.Value);
                }
                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in element.EnumerateArray())
                    WriteCanonical(writer, item);
                writer.WriteEndArray();
                break;
            default:
                element.WriteTo(writer);
                break;
        }
    }
}
