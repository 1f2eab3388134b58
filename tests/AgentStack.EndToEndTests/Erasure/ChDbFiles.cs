using System.Buffers.Binary;
using K4os.Compression.LZ4;

namespace AgentStack.EndToEndTests.Erasure;

/// <summary>
/// Reads chDB's data directory as an attacker with the disk would: every file's bytes as stored, and the column
/// files' compressed blocks opened. A search of the raw bytes alone is not enough: LZ4 stores a repeated substring
/// (the <c>-prompt-</c> two payloads share) as a back-reference, so a payload need not appear contiguously on disk.
/// </summary>
internal static class ChDbFiles
{
    // A ClickHouse compressed block: a 16-byte checksum, then method (1 byte), size with this 9-byte header and
    // size uncompressed (4 bytes each, little-endian), then the data.
    private const int ChecksumSize = 16;
    private const int HeaderSize = 9;
    private const byte None = 0x02;
    private const byte Lz4 = 0x82;

    /// <summary>The files under <paramref name="directory"/> whose stored or decompressed bytes hold <paramref name="text"/>.</summary>
    public static List<string> Holding(string directory, string text)
    {
        var needle = System.Text.Encoding.UTF8.GetBytes(text);
        var found = new List<string>();
        foreach (var file in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
        {
            byte[] bytes;
            try
            {
                bytes = File.ReadAllBytes(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue; // a part being removed while we read it: it holds nothing any more
            }
            if (bytes.AsSpan().IndexOf(needle) >= 0 || Blocks(bytes).Any(block => block.AsSpan().IndexOf(needle) >= 0))
                found.Add(file);
        }
        return found;
    }

    /// <summary>
    /// The decompressed blocks of a column file; stops at the first bytes that are not a block (marks, indexes,
    /// text files are not column files). Every codec a schema here uses is LZ4 or none.
    /// </summary>
    public static IEnumerable<byte[]> Blocks(byte[] file)
    {
        var at = 0;
        while (file.Length - at >= ChecksumSize + HeaderSize)
        {
            var header = file.AsSpan(at + ChecksumSize, HeaderSize);
            var method = header[0];
            var stored = BinaryPrimitives.ReadInt32LittleEndian(header[1..]);
            var size = BinaryPrimitives.ReadInt32LittleEndian(header[5..]);
            if (method is not (None or Lz4) || stored < HeaderSize || size < 0 || size > 1 << 30
                || at + ChecksumSize + stored > file.Length)
                yield break;
            var data = file.AsSpan(at + ChecksumSize + HeaderSize, stored - HeaderSize);
            var block = new byte[size];
            if (method == None)
            {
                if (data.Length != size)
                    yield break;
                data.CopyTo(block);
            }
            else if (LZ4Codec.Decode(data, block) != size)
            {
                yield break;
            }
            yield return block;
            at += ChecksumSize + stored;
        }
    }
}
