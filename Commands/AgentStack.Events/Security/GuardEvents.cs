namespace AgentStack.Events.Security;

/// <summary>One reason the guard gave: a detector's kind, its score 0..1, the reason in words and where.</summary>
public sealed record GuardFindingRecord(string Kind, double Score, string Reason, int Start, int Length);

/// <summary>
/// The guard (<c>POST /v1/guard</c>, issue 15) blocked a text before a model saw it. The text itself is
/// not stored (it may carry personal data): its SHA-256, its length and the findings with their offsets
/// are. Appended to the project's stream <see cref="GuardStream"/>; the overview's "prompt injections
/// blocked" counts these (through the security findings projection).
/// </summary>
public sealed record GuardBlocked(
    string Project,
    string Role,
    double Score,
    IReadOnlyList<GuardFindingRecord> Findings,
    string TextSha256,
    int TextLength,
    string Detector,
    string DetectorVersion,
    DateTimeOffset BlockedAt,
    string BlockedBy);

public static class GuardStream
{
    /// <summary>One stream per project for the guard's decisions: <c>guard-{project}</c>.</summary>
    public static string Name(string project) => $"guard-{project}";
}
