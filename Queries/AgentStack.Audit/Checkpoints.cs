using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;
using AgentStack.Events;

namespace AgentStack.Audit;

/// <summary>
/// A signed statement that the log held <see cref="TreeSize"/> events (positions 1..TreeSize) whose Merkle
/// root is <see cref="RootHash"/> (RFC 6962 tree over the events' stored hashes in position order,
/// <see cref="MerkleTree"/>). Whoever keeps one can later prove that the log still starts with exactly
/// those events (docs/audit.md).
/// </summary>
public sealed record Checkpoint(
    long TreeSize,
    string RootHash,
    DateTimeOffset Timestamp,
    string KeyId,
    string Algorithm,
    string Signature)
{
    public const string Origin = "agentstack-checkpoint/v1";

    /// <summary>The exact bytes signed: origin, size, root and time (Unix microseconds), one per line.</summary>
    public static byte[] SignedBytes(long treeSize, string rootHash, DateTimeOffset timestamp) =>
        Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"{Origin}\n{treeSize}\n{rootHash}\n{EventHash.ToUnixMicroseconds(timestamp)}\n"));

    public static Checkpoint Sign(AuditKey key, long treeSize, byte[] root, DateTimeOffset timestamp)
    {
        var time = EventHash.FromUnixMicroseconds(EventHash.ToUnixMicroseconds(timestamp));
        var rootHex = Convert.ToHexStringLower(root);
        return new Checkpoint(treeSize, rootHex, time, key.KeyId, AuditKey.Algorithm, key.Sign(SignedBytes(treeSize, rootHex, time)));
    }

    public bool VerifySignature(AuditPublicKey key) =>
        KeyId == key.KeyId && Algorithm == AuditKey.Algorithm && key.Verify(SignedBytes(TreeSize, RootHash, Timestamp), Signature);

    [JsonIgnore]
    public byte[] Root => Convert.FromHexString(RootHash);
}

/// <summary>A stream's last event as of a checkpoint: what truncation, deletion and rewriting are caught against.</summary>
public sealed record CheckpointedHead(string Stream, long Version, string Hash, long Position, DateTimeOffset RecordedAt);

/// <summary>
/// Where checkpoints live, apart from the log: the newest ones with the tree's right edge (so the next
/// one extends it without rereading the log) and each stream's head as of the newest checkpoint.
/// </summary>
/// <remarks>
/// A stored row that is not as <see cref="AddAsync"/> wrote it (a hand edit, a damaged file) throws
/// <see cref="UnreadableCheckpointException"/> when read, naming the row and the value.
/// </remarks>
public interface ICheckpointStore
{
    Task InitializeAsync(CancellationToken ct);

    Task<(Checkpoint Checkpoint, IReadOnlyList<string> Frontier)?> GetLatestAsync(CancellationToken ct);

    Task<Checkpoint?> GetAsync(long treeSize, CancellationToken ct);

    /// <summary>The newest first.</summary>
    Task<IReadOnlyList<Checkpoint>> ListAsync(int limit, CancellationToken ct);

    /// <summary>Stores the checkpoint and the heads of the streams that moved since the previous one, atomically; false when one of that size exists.</summary>
    Task<bool> AddAsync(Checkpoint checkpoint, IReadOnlyList<string> frontier, IReadOnlyCollection<CheckpointedHead> heads, CancellationToken ct);

    /// <summary>The heads of the streams whose name starts with <paramref name="streamPrefix"/>.</summary>
    IAsyncEnumerable<CheckpointedHead> ReadHeadsAsync(string streamPrefix, CancellationToken ct);
}

/// <summary>A stored checkpoint or stream head that does not read as one (docs/audit.md, <c>checkpoint-unreadable</c>).</summary>
public sealed class UnreadableCheckpointException(string message) : Exception(message);
