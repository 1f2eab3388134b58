using System.Buffers;

namespace AgentStack.Events;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> over arrays rented from <see cref="ArrayPool{T}.Shared"/>, returned on
/// <see cref="Dispose"/>; what was written is not served after that. For buffers that often outgrow the large object
/// threshold: a live projection batch's RowBinary rows run to megabytes, and allocated afresh each time they set off
/// most of the server's full collections under load (BENCHMARKS.md, "Fewer survivors"); an OTLP request's payloads.
/// </summary>
public sealed class PooledBufferWriter : IBufferWriter<byte>, IDisposable
{
    private byte[] buffer;
    private int written;

    public PooledBufferWriter(int initialCapacity) =>
        buffer = ArrayPool<byte>.Shared.Rent(Math.Max(initialCapacity, 256));

    public int WrittenCount => written;

    /// <summary>The bytes written so far; valid until the writer is disposed.</summary>
    public ReadOnlyMemory<byte> WrittenMemory => Rented().AsMemory(0, written);

    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (written > Rented().Length - count)
            throw new InvalidOperationException("Advanced past the end of the buffer.");
        written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return buffer.AsMemory(written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return buffer.AsSpan(written);
    }

    public void Dispose()
    {
        var rented = Interlocked.Exchange(ref buffer, null!);
        if (rented is not null)
            ArrayPool<byte>.Shared.Return(rented);
    }

    private byte[] Rented() => buffer ?? throw new ObjectDisposedException(nameof(PooledBufferWriter));

    private void Reserve(int sizeHint)
    {
        var needed = Math.Max(sizeHint, 1);
        var current = Rented();
        if (current.Length - written >= needed)
            return;
        var grown = ArrayPool<byte>.Shared.Rent((int)Math.Min(Array.MaxLength, Math.Max((long)current.Length * 2, (long)written + needed)));
        current.AsSpan(0, written).CopyTo(grown);
        buffer = grown;
        ArrayPool<byte>.Shared.Return(current);
    }
}
