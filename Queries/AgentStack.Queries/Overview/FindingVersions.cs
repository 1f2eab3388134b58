namespace AgentStack.Queries.Overview;

/// <summary>
/// Which detector version's findings a read of <c>security_findings</c> shows (issue 15.6). A new detector
/// version re-runs over the whole log and writes rows beside the earlier version's; reads show each
/// detector's current version (the newest in <c>agentstack.detector_versions</c>) so nothing is counted
/// twice, plus guard blocks and rows of detectors never registered. Asked for a version
/// (<c>?detectorVersion=</c>), they show that version's rows only. docs/security-engine.md.
/// </summary>
public static class FindingVersions
{
    /// <summary>The query parameter a filtered read binds: <c>{detectorVersion:String}</c>.</summary>
    public const string Parameter = "detectorVersion";

    // GLOBAL IN: on a cluster both tables are Distributed, where a plain IN over a Distributed subquery is refused.
    // A guard block (action 'block', in both tables) is never re-run over history, so it stays whichever version
    // blocked: security_findings stores it without a version, findings with the guard model's (FindingsProjection).
    private const string Current = """
        (detector_version = '' OR action = 'block'
         OR (detector, detector_version) GLOBAL IN (SELECT detector, argMax(version, activated_at) FROM agentstack.detector_versions GROUP BY detector)
         OR detector GLOBAL NOT IN (SELECT detector FROM agentstack.detector_versions))
        """;

    /// <summary>A WHERE condition over <c>security_findings</c>: the current versions, or <paramref name="detectorVersion"/>'s rows.</summary>
    public static string Where(string? detectorVersion) =>
        string.IsNullOrEmpty(detectorVersion) ? Current : $"detector_version = {{{Parameter}:String}}";
}
