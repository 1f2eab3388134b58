using System.Buffers;
using System.Text.Json;

namespace AgentStack.Events;

/// <summary>
/// Escaped lone surrogates in JSON text (docs/ingestion.md, lone surrogates): <c>"caf\ud83d"</c>, a string cut inside a
/// pair by its writer, is valid JSON but no UTF-16 text, and readers that want text refuse the whole document for one
/// (Google.Protobuf's JSON parser, ClickHouse's JSON functions). Written as <c>\ufffd</c> instead, the same six bytes,
/// such a surrogate reads as U+FFFD, as <see cref="Text(ref Utf8JsonReader)"/> reads it.
/// </summary>
public static class LoneSurrogates
{
    /// <summary>The text of the string or property name the reader is on; an escaped lone surrogate reads as U+FFFD.</summary>
    public static string Text(ref Utf8JsonReader reader)
    {
        try
        {
            return reader.GetString()!;
        }
        catch (InvalidOperationException)
        {
            return Text(reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan);
        }
    }

    /// <summary>The text of a JSON string as written between its quotes; an escaped lone surrogate reads as U+FFFD.</summary>
    public static string Text(ReadOnlySpan<byte> written)
    {
        var quoted = new byte[written.Length + 2];
        quoted[0] = quoted[^1] = (byte)'"';
        written.CopyTo(quoted.AsSpan(1));
        var reader = new Utf8JsonReader(AsReplacementCharacters(quoted) ?? quoted);
        reader.Read();
        return reader.GetString()!;
    }

    /// <summary>A copy of the JSON text with each escaped lone surrogate written <c>\ufffd</c>; null if it holds none.</summary>
    public static byte[]? AsReplacementCharacters(ReadOnlySpan<byte> json)
    {
        byte[]? replaced = null;
        for (var i = 0; ;)
        {
            var next = json[i..].IndexOf("\\u"u8);
            if (next < 0)
                return replaced;
            i += next;
            // After an odd run of backslashes the last one is escaped ("\\ud800" is a backslash and text): no escape here.
            var run = 0;
            while (i - run - 1 >= 0 && json[i - run - 1] == '\\')
                run++;
            if (run % 2 == 1)
            {
                i += 1;
                continue;
            }
            var kind = Surrogate(json[i..]);
            if (kind == 0)
            {
                i += 2;
                continue;
            }
            if (kind == High && Surrogate(json[Math.Min(json.Length, i + 6)..]) == Low)
            {
                i += 12;
                continue;
            }
            replaced ??= json.ToArray();
            "fffd"u8.CopyTo(replaced.AsSpan(i + 2));
            i += 6;
        }
    }

    private const int High = 1, Low = 2;

    /// <summary><see cref="High"/> or <see cref="Low"/> for an escape <c>\uD800</c> to <c>\uDFFF</c> at the start, 0 otherwise.</summary>
    private static int Surrogate(ReadOnlySpan<byte> at) =>
        at.Length >= 6 && at[0] == '\\' && at[1] == 'u' && (at[2] | 0x20) == 'd'
            ? (at[3] | 0x20) switch
            {
                (byte)'8' or (byte)'9' or (byte)'a' or (byte)'b' => High,
                (byte)'c' or (byte)'d' or (byte)'e' or (byte)'f' => Low,
                _ => 0,
            }
            : 0;
}
