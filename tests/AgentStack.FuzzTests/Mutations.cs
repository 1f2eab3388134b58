using System.IO.Compression;
using System.Text;

namespace AgentStack.FuzzTests;

/// <summary>
/// Byte-level damage done to a well-formed body: what a broken client, a flaky proxy or an attacker
/// sends. Every operator is deterministic for a given <see cref="Random"/>, so a seed replays a run.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5394:Do not use insecure randomness", Justification = "seeded pseudo-random test data, replayable from the printed seed; nothing secret is drawn")]
public static class Mutations
{
    /// <summary>Invalid UTF-8: a lone continuation byte, an overlong form, a UTF-16 surrogate, bytes never valid.</summary>
    public static readonly byte[][] InvalidUtf8 = [[0x80], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xFF], [0xC3, 0x28], [0xF8, 0x88, 0x80, 0x80, 0x80]];

    public static byte[] Truncate(Random random, byte[] body) =>
        body.Length <= 1 ? [] : body[..random.Next(0, body.Length - 1)];

    public static byte[] FlipBytes(Random random, byte[] body)
    {
        var copy = (byte[])body.Clone();
        var flips = random.Next(1, 9);
        for (var i = 0; i < flips && copy.Length > 0; i++)
            copy[random.Next(copy.Length)] ^= (byte)random.Next(1, 256);
        return copy;
    }

    /// <summary>Inserts bytes right after a quote, i.e. inside a JSON string (a key or a value), or anywhere in a binary body.</summary>
    public static byte[] InsertInString(Random random, byte[] body, byte[] inserted)
    {
        var quotes = new List<int>();
        for (var i = 0; i < body.Length; i++)
            if (body[i] == (byte)'"')
                quotes.Add(i + 1);
        var at = quotes.Count > 0 ? quotes[random.Next(quotes.Count)] : random.Next(body.Length + 1);
        return [.. body.AsSpan(0, at), .. inserted, .. body.AsSpan(at)];
    }

    public static byte[] InsertInvalidUtf8(Random random, byte[] body) =>
        InsertInString(random, body, InvalidUtf8[random.Next(InvalidUtf8.Length)]);

    public static byte[] InsertNul(Random random, byte[] body) => InsertInString(random, body, [0]);

    /// <summary>A run of the same byte at a random place: huge varints in protobuf, garbage in JSON.</summary>
    public static byte[] InsertRun(Random random, byte[] body)
    {
        var at = random.Next(body.Length + 1);
        var run = Enumerable.Repeat((byte)(random.Next(2) == 0 ? 0xFF : 0x7B), random.Next(1, 64)).ToArray();
        return [.. body.AsSpan(0, at), .. run, .. body.AsSpan(at)];
    }

    public static byte[] Gzip(byte[] body)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
            gzip.Write(body);
        return output.ToArray();
    }

    private static byte[]? bomb;

    /// <summary>About 200 KB of gzip that inflates to 256 MiB of zeros; made once per run.</summary>
    public static byte[] GzipBomb()
    {
        if (bomb is not null)
            return bomb;
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            var zeros = new byte[1 << 20];
            for (var i = 0; i < 256; i++)
                gzip.Write(zeros);
        }
        return bomb = output.ToArray();
    }

    public static string RandomText(Random random, int length)
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:-_\"\\/\u00e9\u4e2d\u200b";
        var sb = new StringBuilder(length);
        for (var i = 0; i < length; i++)
            sb.Append(alphabet[random.Next(alphabet.Length)]);
        return sb.ToString();
    }
}
