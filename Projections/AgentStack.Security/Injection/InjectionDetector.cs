using System.Text.RegularExpressions;

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
        if (classifier is not null)
            Classify(text, role, views, comments, findings);

        var score = findings.Count == 0 ? 0 : findings.Max(f => f.Score);
        return new InjectionVerdict(score, score >= BlockAt, findings.ToArray());
    }

    private void Classify(string text, string role, IReadOnlyList<NormalizedView> views, List<(int Start, int Length)> comments,
        List<TextFinding> findings)
    {
        var best = (Score: 0.0, Start: 0, Length: text.Length, Where: "");
        foreach (var input in ClassifierInputs(text, role, views, comments))
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
    /// (or its windows when long), for documents and tool outputs each piece (paragraph, text between tags, JSON
    /// string value), every decoded view (base64, hex) and every HTML comment; each with the original span it covers
    /// and where it lies, in words. Training places the threshold on the same inputs (AgentStack.Security.Training).
    /// </summary>
    public static IEnumerable<(string Text, int Start, int Length, string Where)> ClassifierInputs(string text, string role) =>
        ClassifierInputs(text, role, TextNormalizer.Views(text), role == TextRoles.UserInput ? [] : HtmlComments(text));

    private static IEnumerable<(string Text, int Start, int Length, string Where)> ClassifierInputs(string text, string role,
        IReadOnlyList<NormalizedView> views, List<(int Start, int Length)> comments)
    {
        var plain = views[0];
        if (plain.Text.Length <= WholeTextLimit)
            yield return (plain.Text, 0, text.Length, "");
        else
            foreach (var (start, length) in Windows(plain.Text))
            {
                var original = plain.Original(start, length);
                yield return (plain.Text.Substring(start, length), original.Start, original.Length, " in one part of a long text");
            }
        if (role != TextRoles.UserInput && plain.Text.Length > 200)
            foreach (Match piece in Piece().Matches(plain.Text))
            {
                if (piece.Length < 24 || piece.Length == plain.Text.Length)
                    continue;
                var original = plain.Original(piece.Index, piece.Length);
                yield return (piece.Value, original.Start, original.Length, " in one part of the document");
            }
        foreach (var view in views.Skip(1))
            yield return (view.Text, view.OriginStart, view.OriginLength, $" in {view.Origin}-encoded text");
        foreach (var (start, length) in comments)
            yield return (TextNormalizer.Normalize(text.Substring(start, length)).Text, start, length, " in an HTML comment");
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

    /// <summary>The pieces of a document: paragraphs, the text between markup tags, JSON string values.</summary>
    [GeneratedRegex(@"(?:[^\n<>{}\[\]""]|""(?![,:}\]]))+(?:\n(?!\s*\n)(?:[^\n<>{}\[\]""]|""(?![,:}\]]))+)*")]
    private static partial Regex Piece();

    [GeneratedRegex(@"<!--(.*?)-->", RegexOptions.Singleline)]
    private static partial Regex HtmlComment();
}
