using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using AgentStack.Events;

namespace AgentStack.Security.Injection;

/// <summary>Where a text came from, which decides how the detector reads it (docs/architecture.md, guard).</summary>
public static class TextRoles
{
    public const string UserInput = "user_input";
    public const string RetrievedDocument = "retrieved_document";
    public const string ToolOutput = "tool_output";

    public static readonly IReadOnlyList<string> All = [UserInput, RetrievedDocument, ToolOutput];

    public static bool IsKnown(string role) => All.Contains(role, StringComparer.Ordinal);
}

/// <summary>
/// One finding in a text: kind (<c>prompt_injection</c>, or a sensitive-data kind), score 0..1, the
/// reason in words, and the original offsets it covers.
/// </summary>
public sealed record TextFinding(string Kind, double Score, string Reason, int Start, int Length, string Rule);

/// <summary>The verdict on one text: its highest score, whether that blocks, and every finding.</summary>
public sealed record InjectionVerdict(double Score, bool Block, IReadOnlyList<TextFinding> Findings);

/// <summary>
/// The prompt-injection detector (issue 15): normalisation (<see cref="TextNormalizer"/>), rules
/// (<see cref="InjectionRules"/>) and the trained classifier (<see cref="InjectionClassifier"/>). A score of
/// 0.5 or more blocks. Text from documents and tools is also read piece by piece (paragraphs, HTML
/// comments), because an injection hidden in a long page is a small part of it.
/// </summary>
public sealed partial class InjectionDetector(InjectionClassifier? classifier, int cachedCharacters = 0)
{
    /// <summary>
    /// The verdict cache of the shipped detector (<see cref="Load"/>): up to this many characters of recent texts.
    /// An agent's model calls repeat their system prompt and earlier messages in every call of a trace, so the
    /// same strings reach the detector again and again; the cache answers them with the verdict computed the
    /// first time (the detector is deterministic: same text and role, same verdict).
    /// </summary>
    public const int DefaultCachedCharacters = 4_000_000;

    private readonly VerdictCache? _cache = cachedCharacters > 0 ? new VerdictCache(cachedCharacters) : null;

    public const string Name = "prompt-injection";
    public const string Kind = "prompt_injection";
    public const double BlockAt = 0.5;
    private const string NotBlocked = "; quoted as an example, so not blocked";

    /// <summary>The longest text classified whole; longer text is classified in windows.</summary>
    private const int WholeTextLimit = 4096;
    private const int Window = 1024;

    /// <summary>The trained classifier, if any (null: rules only).</summary>
    public InjectionClassifier? Classifier => classifier;

    /// <summary>The detector version: changes whenever rules, normalisation or the model change.</summary>
    public string Version => classifier is null ? "rules-6" : $"6.{classifier.Settings.TrainedAt}";

    public static InjectionDetector CreateDefault() => new(InjectionClassifier.LoadEmbedded(), DefaultCachedCharacters);

    /// <summary>
    /// The detector with the model in <paramref name="modelDirectory"/> when one is given
    /// (<c>AgentStack:Security:Injection:ModelDirectory</c>), else the model shipped in this assembly. A
    /// different model is a different <see cref="Version"/>, which re-runs the detections over history
    /// (docs/security-engine.md, retroactive detection).
    /// </summary>
    public static InjectionDetector Load(string? modelDirectory) =>
        string.IsNullOrWhiteSpace(modelDirectory) ? CreateDefault() : new(InjectionClassifier.LoadFrom(modelDirectory), DefaultCachedCharacters);

    /// <summary>Where hosts read the model directory from.</summary>
    public const string ModelDirectorySetting = "AgentStack:Security:Injection:ModelDirectory";

    public InjectionVerdict Detect(string text, string role = TextRoles.UserInput)
    {
        if (string.IsNullOrWhiteSpace(text))
            return new InjectionVerdict(0, false, []);
        if (_cache is null)
            return Screen(text, role);
        if (_cache.TryGet(role, text) is { } cached)
            return cached;
        var verdict = Screen(text, role);
        _cache.Add(role, text, verdict);
        return verdict;
    }

    private InjectionVerdict Screen(string text, string role)
    {
        var findings = new List<TextFinding>();
        var views = TextNormalizer.Views(text);
        var comments = role == TextRoles.UserInput ? [] : HtmlComments(text);
        var strings = role == TextRoles.UserInput ? null : JsonStrings(text);
        foreach (var view in views)
        {
            foreach (var match in InjectionRules.Match(view.Text))
            {
                var (start, length) = view.Original(match.Start, match.Length);
                var reason = match.Rule.Reason;
                if (view.Origin != TextNormalizer.Plain)
                    reason += $" (hidden in {view.Origin}-encoded text)";
                else if (comments.Any(c => start >= c.Start && start < c.Start + c.Length))
                    reason += " (hidden in an HTML comment)";
                if (match.Quoted)
                    reason += NotBlocked;
                findings.Add(new TextFinding(Kind, match.Score, reason, start, length, match.Rule.Id));
            }
        }
        // Each HTML comment and each string of a JSON tool output, read as a text of its own: a rule anchored at the start
        // of a text or line misses an attack that opens a comment, and JSON's escaped quotes and newlines hide patterns
        // in the text as written (train: the rules blocked 365 and 277 attacks in such wrappers against 384 alone).
        var segments = comments.Select(c => (Text: text.Substring(c.Start, c.Length), c.Start, c.Length, Where: " (hidden in an HTML comment)"))
            .Concat((strings ?? []).Select(v => (Text: v.Value, v.Start, v.Length, Where: " (in a JSON string value)")));
        foreach (var (segment, start, length, where) in segments)
        {
            var view = TextNormalizer.Normalize(segment.Trim(), Segment, start, length);
            foreach (var match in InjectionRules.Match(view.Text))
            {
                if (findings.Any(f => f.Rule == match.Rule.Id && f.Score >= match.Score && f.Start < start + length && start < f.Start + f.Length))
                    continue; // found in the whole text already (there, JSON's own quotes can make it look quoted)
                findings.Add(new TextFinding(Kind, match.Score, match.Rule.Reason + where + (match.Quoted ? NotBlocked : ""),
                    start, length, match.Rule.Id));
            }
        }
        if (classifier is not null)
            Classify(text, role, views, comments, strings, findings);

        var score = findings.Count == 0 ? 0 : findings.Max(f => f.Score);
        return new InjectionVerdict(score, score >= BlockAt, findings.ToArray());
    }

    private void Classify(string text, string role, IReadOnlyList<NormalizedView> views, List<(int Start, int Length)> comments,
        List<(string Value, int Start, int Length)>? strings, List<TextFinding> findings)
    {
        var best = (Score: 0.0, Start: 0, Length: text.Length, Where: "");
        foreach (var input in ClassifierInputs(text, role, views, comments, strings))
        {
            var s = classifier!.Score(input.Text, role);
            if (s > best.Score)
                best = (s, input.Start, input.Length, input.Where);
        }
        // Text that only quotes attacks as examples (security docs, red-team reports) trips the classifier
        // on the quoted words: without an unquoted rule match, the classifier alone does not block it.
        var citing = findings.Count > 0 && findings.All(f => f.Reason.EndsWith(NotBlocked, StringComparison.Ordinal));
        if (citing && best.Score >= BlockAt)
            best = (0.45, best.Start, best.Length, best.Where + ", but the text quotes attacks as examples");
        if (best.Score >= 0.25)
            findings.Add(new TextFinding(Kind, best.Score,
                $"reads like an injection or jailbreak to the trained classifier{best.Where} (score {best.Score:0.00})",
                best.Start, best.Length, "classifier"));
    }

    /// <summary>
    /// The normalised texts the classifier reads for <paramref name="text"/> in <paramref name="role"/>: the whole text
    /// (or its windows when long); for documents and tool outputs also each piece (<see cref="Pieces"/>), every decoded
    /// view (base64, hex) and every HTML comment; each with the original span it covers and where it lies, in words.
    /// Training places the threshold on the same inputs (AgentStack.Security.Training).
    /// </summary>
    public static IEnumerable<(string Text, int Start, int Length, string Where)> ClassifierInputs(string text, string role) =>
        ClassifierInputs(text, role, TextNormalizer.Views(text), role == TextRoles.UserInput ? [] : HtmlComments(text),
            role == TextRoles.UserInput ? null : JsonStrings(text));

    private static IEnumerable<(string Text, int Start, int Length, string Where)> ClassifierInputs(string text, string role,
        IReadOnlyList<NormalizedView> views, List<(int Start, int Length)> comments, List<(string Value, int Start, int Length)>? strings)
    {
        var plain = views[0];
        // A JSON text's string values, normalised once for the whole read and the pieces.
        var normalizedStrings = strings?.Select(s => (Text: TextNormalizer.Normalize(s.Value).Text.Trim(), s.Start, s.Length)).ToList();
        if (role != TextRoles.UserInput && Prose(plain, normalizedStrings) is { Length: <= WholeTextLimit } prose)
            yield return (prose, 0, text.Length, "");
        else if (plain.Text.Length <= WholeTextLimit)
            yield return (plain.Text, 0, text.Length, "");
        else
            foreach (var (start, length) in Windows(plain.Text))
            {
                var original = plain.Original(start, length);
                yield return (plain.Text.Substring(start, length), original.Start, original.Length, " in one part of a long text");
            }
        if (role != TextRoles.UserInput && plain.Text.Length > 200)
            foreach (var piece in Pieces(plain, normalizedStrings))
                yield return piece;
        foreach (var view in views.Skip(1))
            yield return (view.Text, view.OriginStart, view.OriginLength, $" in {view.Origin}-encoded text");
        foreach (var (start, length) in comments)
            yield return (TextNormalizer.Normalize(text.Substring(start, length)).Text.Trim(), start, length, " in an HTML comment");
    }

    /// <summary>
    /// A document or tool output whole, as its reader reads it: a JSON text's string values, decoded, one per line; any
    /// other text without HTML comments (read on their own) and e-mail routing headers. Read with them, the classifier
    /// scored escapes, addresses and the spaces around a comment's markers on their look (train, out of fold:
    /// docs/security-engine.md, "Results", step 5).
    /// </summary>
    private static string Prose(NormalizedView plain, List<(string Text, int Start, int Length)>? strings) =>
        strings is not null
            ? string.Join('\n', strings.Select(s => s.Text))
            : BlankLines().Replace(NotProse().Replace(plain.Text, ""), "\n\n").Trim();

    /// <summary>The shortest piece of a document the classifier reads (shorter ones are labels, titles, ids).</summary>
    private const int MinimumPiece = 24;

    /// <summary>
    /// The pieces of a document or tool output, read one by one since an injection is a small part of a long page. A
    /// JSON text: its string values, decoded (the model reads <c>"a\nb"</c> as two lines, not as a backslash and an n).
    /// Any other text: its paragraphs and the text between markup tags, without what is read elsewhere or carries no
    /// prose: HTML comments (read whole, below), and e-mail routing headers (<c>From:</c>, <c>To:</c>, <c>Date:</c>, …:
    /// addresses and dates; the <c>Subject:</c> line and the body stay). The classifier was trained on prompts; it
    /// scores such lines on their look, and a benign page with them crossed its threshold on shape alone (train,
    /// out of fold: docs/security-engine.md). Rules still read the whole text.
    /// </summary>
    private static IEnumerable<(string Text, int Start, int Length, string Where)> Pieces(NormalizedView plain,
        List<(string Text, int Start, int Length)>? strings)
    {
        if (strings is not null)
        {
            foreach (var (normalized, start, length) in strings)
            {
                if (normalized.Length >= MinimumPiece && normalized.Length < plain.Text.Length)
                    yield return (normalized, start, length, " in a JSON string value");
            }
            yield break;
        }
        var source = NotProse().Replace(plain.Text, m => new string(' ', m.Length));
        foreach (Match piece in Piece().Matches(source))
        {
            var start = piece.Index;
            var end = piece.Index + piece.Length;
            while (start < end && char.IsWhiteSpace(source[start]))
                start++;
            while (end > start && char.IsWhiteSpace(source[end - 1]))
                end--;
            if (end - start < MinimumPiece || end - start == plain.Text.Length)
                continue;
            var original = plain.Original(start, end - start);
            yield return (source[start..end], original.Start, original.Length, " in one part of the document");
        }
    }

    /// <summary>The origin of a comment's or a JSON string's view: its findings cover the whole segment.</summary>
    private const string Segment = "segment";

    /// <summary>
    /// The string values of <paramref name="text"/> that hold a space or an escape (prose, not ids, URLs or numbers) if it is
    /// one JSON object or array, with where each lies in the text; null if it is not JSON.
    /// </summary>
    private static List<(string Value, int Start, int Length)>? JsonStrings(string text)
    {
        var trimmed = text.AsSpan().TrimStart();
        if (trimmed.IsEmpty || (trimmed[0] != '{' && trimmed[0] != '['))
            return null;
        var bytes = Encoding.UTF8.GetBytes(text);
        var found = new List<(string, int, int)>();
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        // Characters before a byte offset, counted forward once (offsets only grow).
        var (countedBytes, countedChars) = (0, 0);
        int CharsBefore(int offset)
        {
            countedChars += Encoding.UTF8.GetCharCount(bytes.AsSpan(countedBytes, offset - countedBytes));
            countedBytes = offset;
            return countedChars;
        }
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType != JsonTokenType.String || reader.ValueSpan.IndexOfAny((byte)' ', (byte)'\\') < 0)
                    continue; // neither a space nor an escape (a \n): an id, a URL, a number
                var start = CharsBefore((int)reader.TokenStartIndex + 1);
                var length = Encoding.UTF8.GetCharCount(reader.ValueSpan);
                found.Add((LoneSurrogates.Text(ref reader), start, length)); // an escaped lone surrogate as U+FFFD
            }
            return found; // the reader throws on anything after the one value but whitespace
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Windows of about <see cref="Window"/> characters, overlapping by half, cut at whitespace.</summary>
    private static IEnumerable<(int Start, int Length)> Windows(string text)
    {
        for (var start = 0; start < text.Length; start += Window / 2)
        {
            var end = Math.Min(text.Length, start + Window);
            yield return (start, end - start);
            if (end == text.Length)
                yield break;
        }
    }

    private static List<(int Start, int Length)> HtmlComments(string text)
    {
        var list = new List<(int, int)>();
        if (!text.Contains("<!--", StringComparison.Ordinal))
            return list;
        foreach (Match m in HtmlComment().Matches(text))
            list.Add((m.Groups[1].Index, m.Groups[1].Length));
        return list;
    }

    /// <summary>HTML comments and e-mail routing header lines, blanked before a document is cut into pieces.</summary>
    [GeneratedRegex(@"<!--.*?-->|^(?:from|to|cc|bcc|date|reply-to|sender|return-path|message-id|in-reply-to|references|received|mime-version|content-type|content-transfer-encoding):[^\n]*$",
        RegexOptions.Singleline | RegexOptions.Multiline | RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex NotProse();

    /// <summary>The pieces of a document: paragraphs, the text between markup tags.</summary>
    [GeneratedRegex(@"(?:[^\n<>{}\[\]""]|""(?![,:}\]]))+(?:\n(?!\s*\n)(?:[^\n<>{}\[\]""]|""(?![,:}\]]))+)*")]
    private static partial Regex Piece();

    [GeneratedRegex(@"\n\s*\n\s*")]
    private static partial Regex BlankLines();

    [GeneratedRegex(@"<!--(.*?)-->", RegexOptions.Singleline)]
    private static partial Regex HtmlComment();
}
