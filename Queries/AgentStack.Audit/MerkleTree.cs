using System.Buffers;
using System.Security.Cryptography;

namespace AgentStack.Audit;

/// <summary>
/// The Merkle tree of the log (RFC 6962 §2.1, RFC 9162 §2.1): leaf i is the stored hash of the event at
/// log position i + 1, hashed as <c>SHA-256(0x00 || hash bytes)</c>; an inner node is
/// <c>SHA-256(0x01 || left || right)</c>, split at the largest power of two below the size. Proof
/// generation works on a list of leaf hashes; verification needs only the proof, as a third party has.
/// </summary>
public static class MerkleTree
{
    public static byte[] EmptyRoot { get; } = SHA256.HashData(ReadOnlySpan<byte>.Empty);

    /// <summary>The leaf hash of an event whose stored hash is the hex string <paramref name="eventHash"/>.</summary>
    public static byte[] LeafHash(string eventHash)
    {
        Span<byte> input = stackalloc byte[33];
        input[0] = 0x00;
        // A stored hash that is not 64 hex digits (tampered) still gets a leaf: the bytes of its text.
        if (eventHash.Length == 64 && Convert.FromHexString(eventHash, input[1..], out _, out var written) == OperationStatus.Done && written == 32)
            return SHA256.HashData(input);
        var text = System.Text.Encoding.UTF8.GetBytes(eventHash);
        var buffer = new byte[text.Length + 1];
        text.CopyTo(buffer, 1);
        return SHA256.HashData(buffer);
    }

    public static byte[] NodeHash(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        Span<byte> input = stackalloc byte[65];
        input[0] = 0x01;
        left.CopyTo(input[1..]);
        right.CopyTo(input[33..]);
        return SHA256.HashData(input);
    }

    /// <summary>MTH(D[start:end]) over leaf hashes.</summary>
    public static byte[] Root(IReadOnlyList<byte[]> leaves, long start, long end)
    {
        var n = end - start;
        if (n == 0) return EmptyRoot;
        if (n == 1) return leaves[(int)start];
        var k = LargestPowerOfTwoBelow(n);
        return NodeHash(Root(leaves, start, start + k), Root(leaves, start + k, end));
    }

    /// <summary>PATH(m, D[n]) (RFC 6962 §2.1.1): the audit path of leaf <paramref name="index"/> in the tree of <paramref name="size"/> leaves.</summary>
    public static List<byte[]> InclusionProof(IReadOnlyList<byte[]> leaves, long index, long size)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, size);
        var proof = new List<byte[]>();
        Path(leaves, index, 0, size, proof);
        return proof;
    }

    private static void Path(IReadOnlyList<byte[]> leaves, long m, long start, long end, List<byte[]> proof)
    {
        var n = end - start;
        if (n <= 1) return;
        var k = LargestPowerOfTwoBelow(n);
        if (m < k)
        {
            Path(leaves, m, start, start + k, proof);
            proof.Add(Root(leaves, start + k, end));
        }
        else
        {
            Path(leaves, m - k, start + k, end, proof);
            proof.Add(Root(leaves, start, start + k));
        }
    }

    /// <summary>PROOF(m, D[n]) (RFC 6962 §2.1.2): that the tree of <paramref name="oldSize"/> leaves is a prefix of the one of <paramref name="newSize"/>.</summary>
    public static List<byte[]> ConsistencyProof(IReadOnlyList<byte[]> leaves, long oldSize, long newSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(oldSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(oldSize, newSize);
        var proof = new List<byte[]>();
        if (oldSize < newSize)
            SubProof(leaves, oldSize, 0, newSize, true, proof);
        return proof;
    }

    private static void SubProof(IReadOnlyList<byte[]> leaves, long m, long start, long end, bool whole, List<byte[]> proof)
    {
        var n = end - start;
        if (m == n)
        {
            if (!whole) proof.Add(Root(leaves, start, end));
            return;
        }
        var k = LargestPowerOfTwoBelow(n);
        if (m <= k)
        {
            SubProof(leaves, m, start, start + k, whole, proof);
            proof.Add(Root(leaves, start + k, end));
        }
        else
        {
            SubProof(leaves, m - k, start + k, end, false, proof);
            proof.Add(Root(leaves, start, start + k));
        }
    }

    /// <summary>RFC 9162 §2.1.3.2: does <paramref name="proof"/> place <paramref name="leafHash"/> at <paramref name="index"/> in the tree with <paramref name="root"/>?</summary>
    public static bool VerifyInclusion(byte[] leafHash, long index, long size, IReadOnlyList<byte[]> proof, byte[] root)
    {
        if (index < 0 || index >= size) return false;
        long fn = index, sn = size - 1;
        var r = leafHash;
        foreach (var p in proof)
        {
            if (sn == 0) return false;
            if ((fn & 1) == 1 || fn == sn)
            {
                r = NodeHash(p, r);
                if ((fn & 1) == 0)
                    while ((fn & 1) == 0 && fn != 0) { fn >>= 1; sn >>= 1; }
            }
            else
            {
                r = NodeHash(r, p);
            }
            fn >>= 1;
            sn >>= 1;
        }
        return sn == 0 && r.AsSpan().SequenceEqual(root);
    }

    /// <summary>RFC 9162 §2.1.4.2: is the tree (<paramref name="oldSize"/>, <paramref name="oldRoot"/>) a prefix of (<paramref name="newSize"/>, <paramref name="newRoot"/>)?</summary>
    public static bool VerifyConsistency(long oldSize, long newSize, byte[] oldRoot, byte[] newRoot, IReadOnlyList<byte[]> proof)
    {
        if (oldSize <= 0 || oldSize > newSize) return false;
        if (oldSize == newSize)
            return proof.Count == 0 && oldRoot.AsSpan().SequenceEqual(newRoot);
        var path = new List<byte[]>(proof.Count + 1);
        if ((oldSize & (oldSize - 1)) == 0) path.Add(oldRoot);
        path.AddRange(proof);
        if (path.Count == 0) return false;
        long fn = oldSize - 1, sn = newSize - 1;
        while ((fn & 1) == 1) { fn >>= 1; sn >>= 1; }
        byte[] fr = path[0], sr = path[0];
        foreach (var c in path.Skip(1))
        {
            if (sn == 0) return false;
            if ((fn & 1) == 1 || fn == sn)
            {
                fr = NodeHash(c, fr);
                sr = NodeHash(c, sr);
                if ((fn & 1) == 0)
                    while ((fn & 1) == 0 && fn != 0) { fn >>= 1; sn >>= 1; }
            }
            else
            {
                sr = NodeHash(sr, c);
            }
            fn >>= 1;
            sn >>= 1;
        }
        return sn == 0 && fr.AsSpan().SequenceEqual(oldRoot) && sr.AsSpan().SequenceEqual(newRoot);
    }

    internal static long LargestPowerOfTwoBelow(long n) => 1L << (int)(63 - long.LeadingZeroCount(n - 1));
}

/// <summary>
/// The right edge of a growing tree: the roots of its perfect subtrees, largest first (one per set bit of
/// the size). Adding leaves needs only these, so checkpoints extend the tree from the last one without
/// rereading the log, and a whole-log scan computes the root in constant memory.
/// </summary>
public sealed class MerkleFrontier
{
    private readonly List<(byte[] Hash, long Size)> subtrees = [];

    public long Size { get; private set; }

    public void Add(byte[] leafHash)
    {
        subtrees.Add((leafHash, 1));
        Size++;
        while (subtrees.Count >= 2 && subtrees[^1].Size == subtrees[^2].Size)
        {
            var right = subtrees[^1];
            var left = subtrees[^2];
            subtrees.RemoveRange(subtrees.Count - 2, 2);
            subtrees.Add((MerkleTree.NodeHash(left.Hash, right.Hash), left.Size * 2));
        }
    }

    public byte[] Root()
    {
        if (subtrees.Count == 0) return MerkleTree.EmptyRoot;
        var root = subtrees[^1].Hash;
        for (var i = subtrees.Count - 2; i >= 0; i--)
            root = MerkleTree.NodeHash(subtrees[i].Hash, root);
        return root;
    }

    /// <summary>The subtree roots as hex, largest first: with the size, all a later checkpoint needs.</summary>
    public IReadOnlyList<string> Save() => subtrees.Select(s => Convert.ToHexStringLower(s.Hash)).ToList();

    public static MerkleFrontier Load(long size, IReadOnlyList<string> hashes)
    {
        var frontier = new MerkleFrontier { Size = size };
        var sizes = new List<long>();
        for (var bit = 62; bit >= 0; bit--)
            if ((size & (1L << bit)) != 0) sizes.Add(1L << bit);
        if (sizes.Count != hashes.Count)
            throw new InvalidDataException($"A frontier of size {size} has {sizes.Count} subtrees, not {hashes.Count}.");
        for (var i = 0; i < sizes.Count; i++)
            frontier.subtrees.Add((Convert.FromHexString(hashes[i]), sizes[i]));
        return frontier;
    }
}
