using System.Text.Json;
using AgentStack.Events;

namespace AgentStack.Audit;

/// <summary>
/// Which streams under a project's prefix <c>trace-{project}-</c> are the project's own. Project names may hold
/// '-', so that prefix also matches project <c>{project}-x</c>'s streams: a stream is the project's when its
/// events say so (the span events' own <c>project</c> field, which sealing leaves in clear), decided once per
/// stream from the first event seen (docs/architecture.md, invariant 6: no other project's data in an answer).
/// </summary>
public sealed class ProjectStreams(string? project, string prefix)
{
    private readonly Dictionary<string, bool> owned = new(StringComparer.Ordinal);

    /// <summary>Whether <paramref name="e"/>'s stream is in scope: under the prefix and, for a project, the project's.</summary>
    public bool Owns(StoredEvent e)
    {
        if (!e.Stream.StartsWith(prefix, StringComparison.Ordinal))
            return false;
        if (project is null)
            return true;
        if (!owned.TryGetValue(e.Stream, out var yes))
            owned[e.Stream] = yes = TraceStream.ProjectOf(e.Data) is { } p ? p == project : !e.Stream.AsSpan(prefix.Length).Contains('-');
        return yes;
    }

    /// <summary>
    /// For a stream none of whose events was seen (deleted, per a checkpoint's head): the project's unless the rest
    /// of its name could only be another project's (it holds a '-' and some other stream of this name shape was refused).
    /// </summary>
    public bool MayOwn(string stream) =>
        owned.TryGetValue(stream, out var yes) ? yes : stream.StartsWith(prefix, StringComparison.Ordinal)
            && (project is null || !stream.AsSpan(prefix.Length).Contains('-') || !owned.ContainsValue(false));
}
