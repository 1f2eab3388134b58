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
            owned[e.Stream] = yes = !IsAnothers(e);
        return yes;
    }

    /// <summary>
    /// Whether <paramref name="e"/>'s stream is another project's, as the event says. Believed only when the event is
    /// intact (its bytes hash to its stored hash) and the stream's name could be that project's trace; an event whose
    /// project was edited, or that no longer reads as JSON, leaves the stream this project's, so its break is checked
    /// and reported rather than ruled out of scope.
    /// </summary>
    private bool IsAnothers(StoredEvent e) =>
        TraceStream.ProjectOf(e.Data) is { } other && other != project
        && e.Stream.StartsWith(TraceStream.Name(other, ""), StringComparison.Ordinal)
        && EventHash.Compute(e.PrevHash, e) == e.Hash;

    /// <summary>
    /// For a stream none of whose events was seen (deleted, per a checkpoint's head): the project's unless the rest
    /// of its name could only be another project's (it holds a '-' and some other stream of this name shape was refused).
    /// </summary>
    public bool MayOwn(string stream) =>
        owned.TryGetValue(stream, out var yes) ? yes : stream.StartsWith(prefix, StringComparison.Ordinal)
            && (project is null || !stream.AsSpan(prefix.Length).Contains('-') || !owned.ContainsValue(false));
}
