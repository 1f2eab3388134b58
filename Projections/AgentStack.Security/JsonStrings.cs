using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace AgentStack.Security;

/// <summary>
/// The text of JSON strings that <see cref="JsonElement.GetString"/> refuses: an escaped lone surrogate (<c>"caf\ud83d"</c>,
/// a string cut inside a pair by the writer, as JavaScript's and Python's JSON writers escape it) is valid JSON that does
/// not decode to UTF-16. Such a surrogate reads as U+FFFD; everything else as the standard decoder reads it.
/// </summary>
public static class JsonStrings
{
    /// <summary>The string value's text.</summary>
    public static string Text(JsonElement value)
    {
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            var raw = value.GetRawText();
            return Unescape(raw.AsSpan(1, raw.Length - 2));
        }
    }

    /// <summary>The property's name.</summary>
    public static string Name(JsonProperty property)
    {
        try
        {
            return property.Name;
        }
        catch (InvalidOperationException)
        {
            return Unescape(Encoding.UTF8.GetString(JsonMarshal.GetRawUtf8PropertyName(property)));
        }
    }

    /// <summary>The text of a JSON string literal's content (between its quotes), lone surrogates as U+FFFD.</summary>
    private static string Unescape(ReadOnlySpan<char> literal)
    {
        var text = new StringBuilder(literal.Length);
        for (var i = 0; i < literal.Length; i++)
        {
            if (literal[i] != '\\')
            {
                text.Append(literal[i]);
                continue;
            }
            var escape = literal[++i];
            text.Append(escape switch
            {
                'b' => '\b',
                'f' => '\f',
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                'u' => (char)ushort.Parse(literal.Slice(i + 1, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture),
                _ => escape, // \" \\ \/
            });
            if (escape == 'u')
                i += 4;
        }
        // Pairs stand; a surrogate without its other half becomes U+FFFD.
        var chars = text.ToString().ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (char.IsHighSurrogate(chars[i]) && i + 1 < chars.Length && char.IsLowSurrogate(chars[i + 1]))
                i++;
            else if (char.IsSurrogate(chars[i]))
                chars[i] = '\uFFFD';
        }
        return new string(chars);
    }
}
