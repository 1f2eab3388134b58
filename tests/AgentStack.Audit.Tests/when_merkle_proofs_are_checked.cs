using System.Security.Cryptography;
using AgentStack.Audit;

namespace AgentStack.Audit.Tests;

/// <summary>RFC 6962/9162 proofs, generated and checked as plain functions over every small tree shape.</summary>
public sealed class when_merkle_proofs_are_checked
{
    private static List<byte[]> Leaves(int n) =>
        Enumerable.Range(0, n).Select(i => MerkleTree.LeafHash(Convert.ToHexStringLower(SHA256.HashData([(byte)i])))).ToList();

    [Fact]
    public void then_the_frontier_root_is_the_tree_root_at_every_size()
    {
        var leaves = Leaves(40);
        var frontier = new MerkleFrontier();
        for (var n = 1; n <= leaves.Count; n++)
        {
            frontier.Add(leaves[n - 1]);
            frontier.Root().ShouldBe(MerkleTree.Root(leaves, 0, n));
            MerkleFrontier.Load(n, frontier.Save()).Root().ShouldBe(frontier.Root());
        }
    }

    [Fact]
    public void then_the_rfc_6962_shape_is_kept_for_three_leaves()
    {
        var leaves = Leaves(3);
        MerkleTree.Root(leaves, 0, 3).ShouldBe(MerkleTree.NodeHash(MerkleTree.NodeHash(leaves[0], leaves[1]), leaves[2]));
    }

    [Fact]
    public void then_every_inclusion_proof_verifies_and_a_wrong_leaf_does_not()
    {
        var leaves = Leaves(21);
        for (var n = 1; n <= leaves.Count; n++)
        {
            var root = MerkleTree.Root(leaves, 0, n);
            for (var i = 0; i < n; i++)
            {
                var proof = MerkleTree.InclusionProof(leaves, i, n);
                MerkleTree.VerifyInclusion(leaves[i], i, n, proof, root).ShouldBeTrue($"leaf {i} of {n}");
                MerkleTree.VerifyInclusion(leaves[(i + 1) % leaves.Count], i, n, proof, root).ShouldBeFalse($"wrong leaf at {i} of {n}");
            }
        }
    }

    [Fact]
    public void then_every_consistency_proof_verifies_and_a_changed_history_does_not()
    {
        var leaves = Leaves(21);
        var changed = leaves.ToList();
        for (var m = 1; m <= leaves.Count; m++)
        {
            for (var n = m; n <= leaves.Count; n++)
            {
                var proof = MerkleTree.ConsistencyProof(leaves, m, n);
                MerkleTree.VerifyConsistency(m, n, MerkleTree.Root(leaves, 0, m), MerkleTree.Root(leaves, 0, n), proof)
                    .ShouldBeTrue($"{m} -> {n}");
                if (m == n) continue;
                // History before m rewritten: the new tree no longer extends the old checkpoint.
                changed[0] = leaves[1];
                var forged = MerkleTree.ConsistencyProof(changed, m, n);
                MerkleTree.VerifyConsistency(m, n, MerkleTree.Root(leaves, 0, m), MerkleTree.Root(changed, 0, n), forged)
                    .ShouldBeFalse($"forged {m} -> {n}");
                changed[0] = leaves[0];
            }
        }
    }
}
