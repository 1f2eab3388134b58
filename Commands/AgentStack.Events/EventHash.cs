using System.Buffers;
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
        ArgumentNullException.ThrowIfNull(prevHash);
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(type);
        // The encoding laid out in one buffer and hashed in one call: each call into OpenSSL clears its error queue
        // first, and an incremental hash made a dozen of them per event, on the event store's serial writer.
        var length = 6 * sizeof(long) + Encoding.UTF8.GetByteCount(prevHash) + Encoding.UTF8.GetByteCount(stream)
            + Encoding.UTF8.GetByteCount(type) + data.Length;
        var rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var buffer = rented.AsSpan(0, length);
            var at = WriteString(buffer, 0, prevHash);
            at = WriteString(buffer, at, stream);
            at = WriteInt64(buffer, at, version);
            at = WriteString(buffer, at, type);
            at = WriteInt64(buffer, at, ToUnixMicroseconds(recordedAt));
            at = WriteInt64(buffer, at, data.Length);
            data.CopyTo(buffer[at..]);
            Span<byte> hash = stackalloc byte[32];
            SHA256.HashData(buffer, hash);
            return Convert.ToHexStringLower(hash);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
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

    /// <summary>The string's UTF-8 byte count as a big-endian Int64, then its bytes; returns where the next field starts.</summary>
    private static int WriteString(Span<byte> buffer, int at, string value)
    {
        var written = Encoding.UTF8.GetBytes(value, buffer[(at + sizeof(long))..]);
        WriteInt64(buffer, at, written);
        return at + sizeof(long) + written;
    }

    private static int WriteInt64(Span<byte> buffer, int at, long value)
    {
        BinaryPrimitives.WriteInt64BigEndian(buffer[at..], value);
        return at + sizeof(long);
    }
}

/// <summary>Where a stream's chain breaks: the hash the event should have, and the one it has.</summary>
public sealed record ChainBreak(string Stream, long Version, string ExpectedHash, string FoundHash);
