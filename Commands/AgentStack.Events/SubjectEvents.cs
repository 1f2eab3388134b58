namespace AgentStack.Events;

/// <summary>
/// A subject's payload keys were destroyed (issue 14, erasure by crypto-shredding; docs/privacy.md).
/// The subject itself is not stored: <paramref name="SubjectHash"/> is HMAC-SHA256 of the subject under the
/// project's secret, so someone who knows the subject can check that it was erased, and nobody can read it
/// from the log. <paramref name="KeyIds"/> are the destroyed keys (random ids, the <c>key</c> of each sealed
/// payload they opened). <paramref name="Reason"/> is <c>request</c> (the erase endpoint) or <c>retention</c>.
/// </summary>
public sealed record SubjectErased(
    string Project,
    string SubjectHash,
    IReadOnlyList<string> KeyIds,
    string Reason,
    DateTimeOffset ErasedAt,
    string ErasedBy);

/// <summary>Stream naming: one stream per project for its erasures.</summary>
public static class SubjectStream
{
    public static string Name(string project) => $"subjects-{project}";
}
