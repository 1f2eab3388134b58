using AgentStack.Events;

namespace AgentStack.Audit;

/// <summary>The kinds of break verification names (docs/audit.md).</summary>
public static class BreakKinds
{
    /// <summary>An event's bytes no longer hash to its stored hash, or its predecessor's hash changed under it.</summary>
    public const string Edited = "edited";
    /// <summary>Versions of a stream are absent between two that are present.</summary>
    public const string Missing = "missing";
    /// <summary>Events of a stream are out of their chain order (versions or log positions exchanged).</summary>
    public const string Reordered = "reordered";
    /// <summary>A stream ends before the head a checkpoint recorded.</summary>
    public const string Truncated = "truncated";
    /// <summary>A stream a checkpoint recorded is gone.</summary>
    public const string StreamDeleted = "stream-deleted";
    /// <summary>A stream's chain is intact but differs from the one a checkpoint recorded (history rewritten, hashes recomputed).</summary>
    public const string Rewritten = "rewritten";
    /// <summary>The log's positions skip (whole-log verification only).</summary>
    public const string Gap = "gap";
    /// <summary>The log's Merkle root at a checkpoint's size is not the signed one.</summary>
    public const string CheckpointMismatch = "checkpoint-mismatch";
    /// <summary>A stored checkpoint or stream head does not read as one (a value of another type, a frontier that is no JSON array).</summary>
    public const string CheckpointUnreadable = "checkpoint-unreadable";
}

/// <summary>
/// One break. The first four fields are the contract's (docs/architecture.md, Audit); <see cref="Kind"/>,
/// <see cref="Position"/> and <see cref="Detail"/> are added.
/// </summary>
public sealed record AuditBreak(string Stream, long Version, string ExpectedHash, string FoundHash, string Kind,
    long? Position = null, string? Detail = null);

/// <summary>How the log compared with a signed checkpoint.</summary>
/// <remarks><see cref="SignatureValid"/> is null when no public key was at hand (a PostgreSQL store checked offline without <c>--public-key</c>).</remarks>
public sealed record CheckpointCheck(long TreeSize, string RootHash, DateTimeOffset Timestamp, bool? SignatureValid,
    string? ComputedRoot, bool Consistent);

public sealed record VerificationReport(bool Valid, long EventsChecked, IReadOnlyList<AuditBreak> Breaks,
    CheckpointCheck? Checkpoint = null, long BreaksOmitted = 0);

public sealed record VerificationProgress(long Position, long LastPosition, long EventsChecked);

/// <summary>
/// Follows one stream's chain as its events arrive (in log-position order for a project, in version
/// order for one trace). A clean stream costs its head only; from its first anomaly on, the stream's
/// events are kept (without payloads) and analysed once all have been seen, which is what lets a
/// swap be told from a removal.
/// </summary>
internal sealed class StreamChain(string stream)
{
    private long nextVersion = 1;
    private string lastHash = EventHash.Genesis;
    private long lastPosition;
    private List<Link>? tail;
    private (long Version, string Hash, long Position) anchor = (0, EventHash.Genesis, 0);

    public string Stream { get; } = stream;
    public long MaxVersion { get; private set; }
    public string? LastHash => MaxVersion == 0 ? null : maxHash;
    public bool InRange { get; set; }
    private string? maxHash;

    /// <summary>The stored hash at the version a checkpoint recorded, once seen.</summary>
    public long WatchVersion { get; init; } = -1;
    public string? WatchedHash { get; private set; }

    private readonly record struct Link(long Version, long Position, string Hash, string PrevHash, string SelfHash);

    public void Accept(StoredEvent e)
    {
        var self = EventHash.Compute(e.PrevHash, e.Stream, e.Version, e.Type, e.RecordedAt, e.Data);
        if (e.Version == WatchVersion) WatchedHash = e.Hash;
        if (e.Version > MaxVersion) { MaxVersion = e.Version; maxHash = e.Hash; }
        if (tail is null && e.Version == nextVersion && e.PrevHash == lastHash && e.Position > lastPosition && self == e.Hash)
        {
            nextVersion++;
            lastHash = e.Hash;
            lastPosition = e.Position;
            return;
        }
        if (tail is null)
        {
            tail = [];
            anchor = (nextVersion - 1, lastHash, lastPosition);
        }
        tail.Add(new Link(e.Version, e.Position, e.Hash, e.PrevHash, self));
    }

    /// <summary>The breaks in this stream's chain, in version order.</summary>
    public IEnumerable<AuditBreak> Breaks()
    {
        if (tail is null) yield break;
        var links = tail.OrderBy(l => l.Version).ThenBy(l => l.Position).ToList();
        var (version, prev, lastPos) = (anchor.Version + 1, anchor.Hash, anchor.Position);
        for (var i = 0; i < links.Count; i++)
        {
            var e = links[i];
            if (e.Version < version)
            {
                yield return new AuditBreak(Stream, e.Version, "", e.Hash, BreakKinds.Reordered, e.Position,
                    $"version {e.Version} appears again at position {e.Position}");
                continue;
            }
            if (e.Version > version)
            {
                yield return new AuditBreak(Stream, version, e.Version == version + 1 ? e.PrevHash : "", "", BreakKinds.Missing, null,
                    e.Version == version + 1 ? $"version {version} is missing" : $"versions {version}-{e.Version - 1} are missing");
                (version, prev) = (e.Version, e.PrevHash);
            }
            if (e.Position <= lastPos)
            {
                yield return new AuditBreak(Stream, version, prev, e.PrevHash, BreakKinds.Reordered, e.Position,
                    $"version {version} is at log position {e.Position}, before version {version - 1} at {lastPos}");
                (version, prev, lastPos) = (version + 1, e.Hash, Math.Max(lastPos, e.Position));
                continue;
            }
            if (e.PrevHash != prev)
            {
                var next = i + 1 < links.Count ? links[i + 1] : (Link?)null;
                if (next is { } n && n.Version == version + 1 && n.PrevHash == prev && e.PrevHash == n.Hash)
                {
                    // Version v holds what chains after v + 1, and v + 1 what chains after v - 1: the two were exchanged.
                    yield return new AuditBreak(Stream, version, n.Hash, e.Hash, BreakKinds.Reordered, e.Position,
                        $"versions {version} and {version + 1} are exchanged");
                    (version, prev, lastPos) = (version + 2, e.Hash, Math.Max(e.Position, n.Position));
                    i++;
                    continue;
                }
                if (e.SelfHash == e.Hash)
                    // This event is intact: its predecessor was changed and its hash recomputed.
                    yield return new AuditBreak(Stream, version - 1, e.PrevHash, prev, BreakKinds.Edited, null,
                        $"version {version - 1} no longer has the hash version {version} chained to");
                else
                    yield return new AuditBreak(Stream, version, e.SelfHash, e.Hash, BreakKinds.Edited, e.Position,
                        $"version {version} does not chain to version {version - 1}");
            }
            else if (e.SelfHash != e.Hash)
            {
                yield return new AuditBreak(Stream, version, e.SelfHash, e.Hash, BreakKinds.Edited, e.Position,
                    $"version {version}'s bytes do not hash to its stored hash");
            }
            (version, prev, lastPos) = (version + 1, e.Hash, e.Position);
        }
    }
}
