using AgentStack.Events;

namespace AgentStack.Audit;

/// <summary>
/// What to verify: one stream, the streams starting with a prefix (a project: <c>trace-{project}-</c>), or
/// the whole log (an empty prefix); optionally only events recorded in [<see cref="From"/>, <see cref="To"/>).
/// </summary>
public sealed record VerificationScope(string StreamPrefix, string? Stream = null, DateTimeOffset? From = null, DateTimeOffset? To = null,
    string? ProjectName = null)
{
    public static VerificationScope WholeLog { get; } = new("");

    public static VerificationScope Project(string project, string? traceId = null, DateTimeOffset? from = null, DateTimeOffset? to = null) =>
        new(TraceStream.Name(project, ""), traceId is null ? null : TraceStream.Name(project, traceId), from, to, project);

    /// <summary>A fresh per-run record of which streams under the prefix are the scope's project's own (<see cref="ProjectStreams"/>).</summary>
    public ProjectStreams Streams() => new(ProjectName, StreamPrefix);

    public bool IsWholeLog => StreamPrefix.Length == 0 && Stream is null;

    public bool InRange(DateTimeOffset t) => (From is null || t >= From) && (To is null || t < To);

    public bool HasRange => From is not null || To is not null;
}

/// <summary>
/// Verifies the log as stored (<see cref="RawEventStore"/>): every stream's hash chain, and, against a
/// checkpoint (the newest stored one, or one a third party kept), the streams' heads and the log's
/// Merkle root. Used by <c>GET /api/projects/{project}/audit/verify</c> and offline by <c>agentstack verify</c>.
/// </summary>
public sealed class LogVerifier(RawEventStore raw, ICheckpointStore? checkpoints, AuditPublicKey? publicKey)
{
    public const int MaxBreaks = 1000;
    private const int BatchSize = 4096;

    public async Task<VerificationReport> VerifyAsync(VerificationScope scope, Checkpoint? kept,
        Action<VerificationProgress>? progress, CancellationToken ct)
    {
        var breaks = new List<AuditBreak>();
        var checkpoint = kept;
        var heads = new Dictionary<string, CheckpointedHead>(StringComparer.Ordinal);
        try
        {
            if (checkpoint is null && checkpoints is not null)
                checkpoint = (await checkpoints.GetLatestAsync(ct))?.Checkpoint;
            if (checkpoint is not null && checkpoints is not null)
            {
                await foreach (var head in checkpoints.ReadHeadsAsync(scope.Stream ?? scope.StreamPrefix, ct))
                    if (head.Position <= checkpoint.TreeSize && (scope.Stream is null || head.Stream == scope.Stream))
                        heads[head.Stream] = head;
            }
        }
        catch (UnreadableCheckpointException e)
        {
            // The chains are still checked, against no stored checkpoint: what the store held cannot be trusted.
            breaks.Add(new AuditBreak("", 0, "", "", BreakKinds.CheckpointUnreadable, null, e.Message));
            checkpoint = kept;
            heads.Clear();
        }

        var owned = scope.Streams();
        var chains = new Dictionary<string, StreamChain>(StringComparer.Ordinal);
        long checkedEvents = 0;
        StreamChain ChainOf(string stream)
        {
            if (!chains.TryGetValue(stream, out var chain))
                chains[stream] = chain = new StreamChain(stream) { WatchVersion = heads.TryGetValue(stream, out var h) ? h.Version : -1 };
            return chain;
        }

        MerkleFrontier? frontier = null;
        var logIntact = true;
        if (scope.Stream is not null)
        {
            var chain = ChainOf(scope.Stream);
            await foreach (var e in raw.Store.ReadStreamAsync(scope.Stream, 1, ct))
            {
                if (!owned.Owns(e)) break;
                chain.Accept(e);
                if (scope.InRange(e.RecordedAt)) { checkedEvents++; chain.InRange = true; }
            }
        }
        else
        {
            var last = await raw.Store.GetLastPositionAsync(ct);
            frontier = checkpoint is null ? null : new MerkleFrontier();
            long position = 0, read = 0;
            while (position < last)
            {
                var batch = await raw.Store.ReadAllAsync(position, BatchSize, ct);
                if (batch.Count == 0) break;
                foreach (var e in batch)
                {
                    if (e.Position > last) break;
                    if (e.Position != position + 1)
                    {
                        logIntact = false;
                        if (scope.IsWholeLog)
                            breaks.Add(new AuditBreak("", 0, "", "", BreakKinds.Gap, position + 1,
                                e.Position == position + 2 ? $"log position {position + 1} is missing" : $"log positions {position + 1}-{e.Position - 1} are missing"));
                    }
                    position = e.Position;
                    if (frontier is not null && logIntact && e.Position <= checkpoint!.TreeSize)
                        frontier.Add(MerkleTree.LeafHash(e.Hash));
                    if (!owned.Owns(e)) continue;
                    var chain = ChainOf(e.Stream);
                    chain.Accept(e);
                    if (scope.InRange(e.RecordedAt)) { checkedEvents++; chain.InRange = true; }
                }
                read += batch.Count;
                progress?.Invoke(new VerificationProgress(position, last, checkedEvents));
            }
        }

        foreach (var chain in chains.Values)
            if (!scope.HasRange || chain.InRange)
                breaks.AddRange(chain.Breaks());

        foreach (var head in heads.Values)
        {
            if (!owned.MayOwn(head.Stream)) continue;
            var chain = chains.GetValueOrDefault(head.Stream);
            if (scope.HasRange && !(chain?.InRange ?? false) && !scope.InRange(head.RecordedAt)) continue;
            if (chain is null || chain.MaxVersion == 0)
                breaks.Add(new AuditBreak(head.Stream, head.Version, head.Hash, "", BreakKinds.StreamDeleted, head.Position,
                    $"checkpoint {checkpoint!.TreeSize} recorded this stream up to version {head.Version}; it has no events now"));
            else if (chain.MaxVersion < head.Version)
                breaks.Add(new AuditBreak(head.Stream, chain.MaxVersion + 1, head.Hash, chain.LastHash ?? "", BreakKinds.Truncated, head.Position,
                    $"the stream ends at version {chain.MaxVersion}; checkpoint {checkpoint!.TreeSize} recorded version {head.Version}"));
            else if (chain.WatchedHash != head.Hash)
                breaks.Add(new AuditBreak(head.Stream, head.Version, head.Hash, chain.WatchedHash ?? "", BreakKinds.Rewritten, head.Position,
                    $"version {head.Version} is not the event checkpoint {checkpoint!.TreeSize} recorded"));
        }

        CheckpointCheck? check = null;
        if (checkpoint is not null)
        {
            bool? signatureValid = publicKey is null ? null : checkpoint.VerifySignature(publicKey);
            string? computed = null;
            if (frontier is not null && logIntact && frontier.Size == checkpoint.TreeSize)
                computed = Convert.ToHexStringLower(frontier.Root());
            var consistent = frontier is null
                ? !breaks.Any(b => b.Kind is BreakKinds.Truncated or BreakKinds.StreamDeleted or BreakKinds.Rewritten)
                : computed == checkpoint.RootHash;
            check = new CheckpointCheck(checkpoint.TreeSize, checkpoint.RootHash, checkpoint.Timestamp, signatureValid, computed, consistent);
            if (scope.IsWholeLog && !consistent)
                breaks.Add(new AuditBreak("", checkpoint.TreeSize, checkpoint.RootHash, computed ?? "", BreakKinds.CheckpointMismatch, null,
                    computed is null
                        ? $"the log no longer holds positions 1-{checkpoint.TreeSize} without a hole"
                        : $"the log's Merkle root at size {checkpoint.TreeSize} is not the signed one"));
            if (scope.IsWholeLog && signatureValid == false)
                breaks.Add(new AuditBreak("", checkpoint.TreeSize, "", "", BreakKinds.CheckpointMismatch, null,
                    "the checkpoint's signature does not verify with the deployment's public key"));
        }

        var ordered = breaks.OrderBy(b => b.Stream, StringComparer.Ordinal).ThenBy(b => b.Version).ToList();
        var omitted = Math.Max(0, ordered.Count - MaxBreaks);
        return new VerificationReport(ordered.Count == 0, checkedEvents, ordered.Take(MaxBreaks).ToList(), check, omitted);
    }
}
