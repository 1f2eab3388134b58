using System.Text.RegularExpressions;

namespace AgentStack.Examples.ResearchAgent;

/// <summary>A finding of the demo's prompt-injection guard.</summary>
public sealed record GuardFinding(string Kind, string Match);

/// <summary>A small local prompt-injection check, traced as a guardrail span (the server runs its own detectors too).</summary>
public static partial class Guard
{
    public static IReadOnlyList<GuardFinding> Check(string text) =>
        InjectionPattern().Matches(text).Select(m => new GuardFinding("prompt_injection", m.Value)).ToList();

    /// <summary>Removes every sentence that holds an injection.</summary>
    public static string Sanitize(string text) =>
        string.Join(' ', SentenceSplit().Split(text).Where(s => !InjectionPattern().IsMatch(s))).Trim();

    [GeneratedRegex(@"ignore (all )?(previous|prior) instructions|reveal (the|your) system prompt|e-?mail the full customer list", RegexOptions.IgnoreCase)]
    private static partial Regex InjectionPattern();

    [GeneratedRegex(@"(?<=[.!?])\s+")]
    private static partial Regex SentenceSplit();
}
