using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace AgentStack.Events;

/// <summary>
/// The hash chain of a stream (docs/architecture.md, invariant 3). Each event's hash is
/// SHA-256 over a canonical, length-prefixed encoding of
/// (prevHash, stream, version, type, recordedAt in Unix microseconds, data bytes),
/// so editing, removing or reordering any event changes every later hash.
/// Hashes are lower-case hex; the first event of a stream chains to <see cref="Genesis"/>.
/// </summary>
public static class EventHash
{
    public static readonly string Genesis = new('0', 64);

    public static string Compute(string prevHash, string stream, long version, string type,
        DateTimeOffset recordedAt, ReadOnlySpan<byte> data)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        AppendString(sha, prevHash);
        AppendString(sha, stream);
        AppendInt64(sha, version);
        AppendString(sha, type);
        AppendInt64(sha, ToUnixMicroseconds(recordedAt));
        AppendInt64(sha, data.Length);
        sha.AppendData(data);
        Span<byte> hash = stackalloc byte[32];
        sha.GetHashAndReset(hash);
        return Convert.ToHexStringLower(hash);
    }

    public static string Compute(string prevHash, StoredEvent e) =>
        Compute(prevHash, e.Stream, e.Version, e.Type, e.RecordedAt, e.Data);

    /// <summary>
    /// Checks a stream's events, read in version order from version 1, against their chain.
    /// Returns the first break, or null when the chain is intact.
    /// </summary>
    public static ChainBreak? Verify(IEnumerable<StoredEvent> streamEvents)
    {
        var prev = Genesis;
        long expectedVersion = 1;
        foreach (var e in streamEvents)
        {
            var expected = Compute(prev, e.Stream, expectedVersion, e.Type, e.RecordedAt, e.Data);
            if (e.Version != expectedVersion || e.PrevHash != prev || e.Hash != expected)
                return new ChainBreak(e.Stream, e.Version, expected, e.Hash);
            prev = e.Hash;
            expectedVersion++;
        }
        return null;
    }

    public static long ToUnixMicroseconds(DateTimeOffset t) => (t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;

    public static DateTimeOffset FromUnixMicroseconds(long us) => DateTimeOffset.UnixEpoch.AddTicks(us * 10);

    private static void AppendString(IncrementalHash sha, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        AppendInt64(sha, bytes.Length);
        sha.AppendData(bytes);
    }

    private static void AppendInt64(IncrementalHash sha, long value)
    {
        Span<byte> buffer = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(buffer, value);
        sha.AppendData(buffer);
    }
}

/// <summary>Where a stream's chain breaks: the hash the event should have, and the one it has.</summary>
public sealed record ChainBreak(string Stream, long Version, string ExpectedHash, string FoundHash);
