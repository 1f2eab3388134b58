using System.IO.Compression;

namespace AgentStack.Commands.Spans.Ingesting;

/// <summary>
/// The gzip body as <see cref="GZipStream"/> reads it, followed by one gzip member of our own (the sentinel). GZipStream
/// inflates concatenated members (RFC 1952, section 2.2) but says nothing when the body ends inside a member (it
/// returns what it inflated so far) or when bytes after a member do not start another one (it stops and ignores
/// them). With the sentinel behind the body, each of those shows: the body ended on a complete member exactly when
/// the inflated bytes end with <see cref="Marker"/>; when the sentinel was never read, GZipStream stopped at bytes
/// after a member; when it was read and the marker is not there, its bytes went to finish a member the body cut short.
/// </summary>
internal sealed class GzipInput(Stream body) : Stream
{
    /// <summary>What the sentinel inflates to.</summary>
    public static ReadOnlySpan<byte> Marker => "\0AgentStack gzip end\0"u8;

    private static readonly byte[] Sentinel = Compress(Marker);

    private int sentinelRead = -1;
    private int start;
    private readonly byte[] first = new byte[2];

    /// <summary>Whether GZipStream read any of the sentinel, that is, read the body to its end and wanted more.</summary>
    public bool SentinelRead => sentinelRead > 0;

    /// <summary>Whether the body starts as every gzip member does (ID1 ID2, RFC 1952, section 2.3.1), as far as it was read.</summary>
    public bool StartsLikeGzip => start switch
    {
        0 => true,
        1 => first[0] == 0x1F,
        _ => first[0] == 0x1F && first[1] == 0x8B,
    };

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer) =>
        sentinelRead < 0 && Note(body.Read(buffer), buffer) is > 0 and var read ? read : FromSentinel(buffer);

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (sentinelRead < 0 && Note(await body.ReadAsync(buffer, cancellationToken), buffer.Span) is > 0 and var read)
            return read;
        return FromSentinel(buffer.Span);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private int Note(int read, ReadOnlySpan<byte> buffer)
    {
        for (var i = 0; i < read && start < first.Length; i++)
            first[start++] = buffer[i];
        return read;
    }

    private int FromSentinel(Span<byte> buffer)
    {
        sentinelRead = Math.Max(sentinelRead, 0);
        var count = Math.Min(buffer.Length, Sentinel.Length - sentinelRead);
        Sentinel.AsSpan(sentinelRead, count).CopyTo(buffer);
        sentinelRead += count;
        return count;
    }

    private static byte[] Compress(ReadOnlySpan<byte> data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal))
            gzip.Write(data);
        return output.ToArray();
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
