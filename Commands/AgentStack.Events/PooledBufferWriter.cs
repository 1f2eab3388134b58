using System.Buffers;

namespace AgentStack.Events;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> over arrays rented from <see cref="ArrayPool{T}.Shared"/>, returned on
/// <see cref="Dispose"/>; what was written is not served after that, and is cleared before an array goes back (it holds
/// prompts and outputs, which a pooled array would keep for as long as the pool keeps it, as request bodies are). For buffers that often outgrow the large object
/// threshold: a live projection batch's RowBinary rows run to megabytes, and allocated afresh each time they set off
/// most of the server's full collections under load (BENCHMARKS.md, "Fewer survivors"); an OTLP request's payloads.
/// </summary>
public sealed class PooledBufferWriter : IBufferWriter<byte>, IDisposable
{
    private readonly ArrayPool<byte> pool;
    private byte[] buffer;
    private int written;

    /// <param name="initialCapacity">The least size of the first array rented.</param>
    /// <param name="pool">Where arrays come from; <see cref="ArrayPool{T}.Shared"/> by default.</param>
    public PooledBufferWriter(int initialCapacity, ArrayPool<byte>? pool = null)
    {
        this.pool = pool ?? ArrayPool<byte>.Shared;
        buffer = this.pool.Rent(Math.Max(initialCapacity, 256));
    }

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
        if (buffer is null)
            return;
        Return(buffer);
        buffer = null!;
    }

    private byte[] Rented() => buffer ?? throw new ObjectDisposedException(nameof(PooledBufferWriter));

    private void Reserve(int sizeHint)
    {
        var needed = Math.Max(sizeHint, 1);
        var current = Rented();
        if (current.Length - written >= needed)
            return;
        var grown = pool.Rent((int)Math.Min(Array.MaxLength, Math.Max((long)current.Length * 2, (long)written + needed)));
        current.AsSpan(0, written).CopyTo(grown);
        buffer = grown;
        Return(current);
    }

    private void Return(byte[] array)
    {
        array.AsSpan(0, written).Clear();
        pool.Return(array);
    }
}
