using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace AgentStack.Security.Injection;

/// <summary>
/// One view of the text the detectors read: lower-cased, NFKC-folded, look-alike letters mapped to
/// Latin, zero-width and soft-hyphen characters dropped. <see cref="Map"/> gives, for each character of
/// <see cref="Text"/>, the offset in the original text it came from, so a finding names original offsets.
/// A decoded view (base64 or hex blob) maps every character to the blob's start and carries its length.
/// </summary>
public sealed record NormalizedView(string Text, int[] Map, string Origin, int OriginStart, int OriginLength)
{
    public (int Start, int Length) Original(int start, int length)
    {
        if (Origin != TextNormalizer.Plain)
            return (OriginStart, OriginLength);
        var from = Map[Math.Clamp(start, 0, Map.Length - 1)];
        var last = Map[Math.Clamp(start + length - 1, 0, Map.Length - 1)];
        return (from, Math.Max(1, last - from + 1));
    }
}

/// <summary>
/// Normalisation before rules and classifier (issue 15): NFKC, confusables, zero-width removal, and
/// decoding of embedded base64/hex blobs, each decoded blob becoming a view of its own.
/// </summary>
public static partial class TextNormalizer
{
    public const string Plain = "text";
    public const string Base64 = "base64";
    public const string Hex = "hex";

    /// <summary>The views of <paramref name="text"/>: the plain one first, then one per decoded blob.</summary>
    public static IReadOnlyList<NormalizedView> Views(string text)
    {
        var views = new List<NormalizedView>(1) { Normalize(text, Plain, 0, text.Length) };
        if (text.Length < 16)
            return views;
        foreach (Match m in Base64Blob().Matches(text))
            if (TryDecodeBase64(m.Value) is { } decoded)
                views.Add(Normalize(decoded, Base64, m.Index, m.Length));
        foreach (Match m in HexBlob().Matches(text))
            if (TryDecodeHex(m.Value) is { } decoded)
                views.Add(Normalize(decoded, Hex, m.Index, m.Length));
        return views;
    }

    public static NormalizedView Normalize(string text, string origin = Plain, int originStart = 0, int originLength = 0)
    {
        var sb = new StringBuilder(text.Length);
        var map = new List<int>(text.Length);
        var latinWord = LatinWords(text);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (IsInvisible(c))
                continue;
            if (c < 0x80)
            {
                sb.Append(char.ToLowerInvariant(c));
                map.Add(i);
                continue;
            }
            if (latinWord[i] && Confusables.TryGetValue(char.ToLowerInvariant(c), out var latin))
            {
                sb.Append(latin);
                map.Add(i);
                continue;
            }
            var width = char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) ? 2 : 1;
            var folded = width == 1 ? (c.ToString()) : text.Substring(i, 2);
            if (!folded.IsNormalized(NormalizationForm.FormKC))
                folded = folded.Normalize(NormalizationForm.FormKC);
            foreach (var f in folded.ToLowerInvariant())
            {
                if (IsInvisible(f) || CharUnicodeInfo.GetUnicodeCategory(f) == UnicodeCategory.NonSpacingMark)
                    continue;
                sb.Append(latinWord[i] && Confusables.TryGetValue(f, out var l) ? l : f);
                map.Add(i);
            }
            i += width - 1;
        }
        return new NormalizedView(sb.ToString(), [.. map], origin, originStart, originLength == 0 ? text.Length : originLength);
    }

    /// <summary>
    /// Marks the characters of words that hold at least one ASCII letter: look-alikes are folded only
    /// there ("іgnоrе" mixes scripts), so genuine Cyrillic or Greek text stays readable for the rules.
    /// </summary>
    private static bool[] LatinWords(string text)
    {
        var marks = new bool[text.Length];
        var start = 0;
        while (start < text.Length)
        {
            while (start < text.Length && !IsWordChar(text[start]))
                start++;
            var end = start;
            var latin = false;
            while (end < text.Length && IsWordChar(text[end]))
            {
                latin |= char.IsAsciiLetter(text[end]);
                end++;
            }
            if (latin)
                Array.Fill(marks, true, start, end - start);
            start = end;
        }
        return marks;
    }

    private static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || IsInvisible(c) || char.IsSurrogate(c)
        || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.NonSpacingMark;

    private static bool IsInvisible(char c) =>
        c is '\u200B' or '\u200C' or '\u200D' or '\u200E' or '\u200F' or '\u2060' or '\u2061' or '\u2062'
            or '\u2063' or '\u2064' or '\uFEFF' or '\u00AD' or '\u180E' or '\u034F'
        || (c >= '\uFE00' && c <= '\uFE0F') || (c >= '\u202A' && c <= '\u202E') || (c >= '\u2066' && c <= '\u2069');

    /// <summary>A decoded blob counts only if it reads as text: mostly printable, some letters and spaces.</summary>
    private static string? TryDecodeBase64(string blob)
    {
        var padded = blob.TrimEnd('=');
        padded += new string('=', (4 - padded.Length % 4) % 4);
        var bytes = new byte[padded.Length * 3 / 4];
        if (!Convert.TryFromBase64String(padded, bytes, out var written))
            return null;
        return Readable(bytes.AsSpan(0, written));
    }

    private static string? TryDecodeHex(string blob)
    {
        if (blob.Length % 2 != 0)
            blob = blob[..^1];
        try
        {
            return Readable(Convert.FromHexString(blob));
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static string? Readable(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 8)
            return null;
        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
        var printable = 0;
        var spaces = 0;
        foreach (var c in text)
        {
            if (!char.IsControl(c) || c is '\n' or '\r' or '\t')
                printable++;
            if (c == ' ')
                spaces++;
        }
        return printable >= text.Length * 0.95 && spaces > 0 ? text : null;
    }

    [GeneratedRegex(@"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{16,}={0,2}(?![A-Za-z0-9+/=])")]
    private static partial Regex Base64Blob();

    [GeneratedRegex(@"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}){12,}(?![0-9A-Fa-f])")]
    private static partial Regex HexBlob();

    /// <summary>Look-alike letters (Unicode confusables that NFKC keeps apart) mapped to their Latin twin.</summary>
    private static readonly Dictionary<char, char> Confusables = BuildConfusables();

    private static Dictionary<char, char> BuildConfusables()
    {
        // Cyrillic, Greek, Armenian and IPA letters that render like Latin ones (the common subset of
        // Unicode TR39 confusables). Keys are lower case: the normaliser lower-cases before the lookup.
        string[] pairs =
        [
            "аa", "еe", "оo", "рp", "сc", "уy", "хx", "іi", "јj", "ѕs", "ԁd", "ɡg", "һh", "кk", "мm", "тt", "вb",
            "нh", "ԍg", "ӏl", "αa", "οo", "ρp", "ιi", "υu", "νv", "κk", "τt", "εe", "ηn", "χx", "ζz", "ɑa", "ɩi",
            "ℓl", "օo", "սu", "ոn", "հh", "ѵv", "ԝw", "ѡw", "ѐe", "ёe", "їi", "ӧo",
        ];
        return pairs.ToDictionary(p => p[0], p => p[1]);
    }
}
