using AgentStack.Events;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AgentStack.Audit;

/// <summary>
/// Signs checkpoints of the whole log (issue 14, point 2; the Certificate Transparency idea, RFC 6962/9162):
/// extends the tree from the last checkpoint's right edge with the events appended since, signs
/// (size, root, time), and records the heads of the streams that moved.
/// </summary>
public sealed class Checkpointer(RawEventStore raw, ICheckpointStore store, AuditKey key, TimeProvider time)
{
    private readonly SemaphoreSlim gate = new(1, 1);

    /// <summary>The new checkpoint, or the latest one when the log has not grown since.</summary>
    public async Task<Checkpoint?> CreateAsync(CancellationToken ct)
    {
        await gate.WaitAsync(ct);
        try
        {
            var latest = await store.GetLatestAsync(ct);
            var frontier = latest is { } l ? MerkleFrontier.Load(l.Checkpoint.TreeSize, l.Frontier) : new MerkleFrontier();
            var last = await raw.Store.GetLastPositionAsync(ct);
            if (last <= frontier.Size)
                return latest?.Checkpoint;

            var heads = new Dictionary<string, CheckpointedHead>(StringComparer.Ordinal);
            while (frontier.Size < last)
            {
                // Hashes only: the tree and the heads need no event's data, which is most of the log's bytes.
                var batch = await raw.Store.ReadAllAsync(frontier.Size, 4096, EventDataScope.None, ct);
                if (batch.Count == 0) break;
                foreach (var e in batch)
                {
                    if (frontier.Size >= last) break;
                    // Positions are gapless (docs/event-store.md): a hole means events were removed, and a
                    // checkpoint must never vouch for a log with a hole in it.
                    if (e.Position != frontier.Size + 1)
                        throw new InvalidDataException($"The log has no event at position {frontier.Size + 1}: refusing to sign a checkpoint over it.");
                    frontier.Add(MerkleTree.LeafHash(e.Hash));
                    heads[e.Stream] = new CheckpointedHead(e.Stream, e.Version, e.Hash, e.Position, e.RecordedAt);
                }
            }
            var checkpoint = Checkpoint.Sign(key, frontier.Size, frontier.Root(), time.GetUtcNow());
            return await store.AddAsync(checkpoint, frontier.Save(), heads.Values, ct)
                ? checkpoint
                : await store.GetAsync(checkpoint.TreeSize, ct);
        }
        finally
        {
            gate.Release();
        }
    }
}

/// <summary>Signs a checkpoint every <c>AgentStack:Audit:CheckpointInterval</c> (default one minute; <c>00:00:00</c> turns it off).</summary>
public sealed partial class CheckpointService(Checkpointer checkpointer, IConfiguration configuration, TimeProvider time,
    ILogger<CheckpointService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = configuration.GetValue("AgentStack:Audit:CheckpointInterval", TimeSpan.FromMinutes(1));
        if (interval <= TimeSpan.Zero) return;
        using var timer = new PeriodicTimer(interval, time);
        do
        {
            try
            {
                var checkpoint = await checkpointer.CreateAsync(stoppingToken);
                if (checkpoint is not null) LogCheckpoint(checkpoint.TreeSize, checkpoint.RootHash);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogFailed(e);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Audit checkpoint at tree size {TreeSize}, root {Root}")]
    private partial void LogCheckpoint(long treeSize, string root);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not sign an audit checkpoint")]
    private partial void LogFailed(Exception e);
}

/// <summary>Consistency and inclusion proofs, computed from the stored hashes of the log (docs/audit.md).</summary>
public sealed class ProofBuilder(RawEventStore raw)
{
    /// <summary>
    /// The leaf hashes of positions 1..<paramref name="treeSize"/>, 32 bytes each. Reads the log once per
    /// proof (a 1M-event log is 32 MB of leaves); a missing position means there is no tree of that size.
    /// </summary>
    public async Task<List<byte[]>?> ReadLeavesAsync(long treeSize, CancellationToken ct)
    {
        if (treeSize > await raw.Store.GetLastPositionAsync(ct)) return null;
        var leaves = new List<byte[]>((int)Math.Min(treeSize, 1 << 24));
        while (leaves.Count < treeSize)
        {
            var batch = await raw.Store.ReadAllAsync(leaves.Count, 4096, EventDataScope.None, ct);
            if (batch.Count == 0) return null;
            foreach (var e in batch)
            {
                if (leaves.Count >= treeSize) break;
                if (e.Position != leaves.Count + 1) return null;
                leaves.Add(MerkleTree.LeafHash(e.Hash));
            }
        }
        return leaves;
    }
}
