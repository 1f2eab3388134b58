using System.Buffers;
using AgentStack.Events;
using AgentStack.Projections.Spans;

namespace AgentStack.Analytics.Tests.Spans;

/// <summary>Issue 13: a live batch's RowBinary rows go into pooled arrays, kept whole as they grow, unusable once returned.</summary>
public sealed class when_rows_are_written_to_a_pooled_buffer
{
    [Fact]
    public void then_every_byte_written_is_kept_in_order_across_growth()
    {
        using var writer = new PooledBufferWriter(16);
        var expected = new List<byte>();
        for (var i = 0; i < 5_000; i++)
        {
            var chunk = Enumerable.Range(0, i % 97 + 1).Select(k => (byte)(i + k)).ToArray();
            writer.Write(chunk);
            expected.AddRange(chunk);
        }
        writer.WrittenCount.ShouldBe(expected.Count);
        writer.WrittenMemory.ToArray().ShouldBe(expected.ToArray());
    }

    [Fact]
    public void then_a_span_asked_for_is_at_least_the_size_hinted_and_advancing_past_it_is_refused()
    {
        using var writer = new PooledBufferWriter(0);
        writer.GetSpan(1_000_000).Length.ShouldBeGreaterThanOrEqualTo(1_000_000);
        var room = writer.GetSpan().Length;
        Should.Throw<InvalidOperationException>(() => writer.Advance(room + 1));
        Should.Throw<ArgumentOutOfRangeException>(() => writer.Advance(-1));
        writer.WrittenCount.ShouldBe(0);
    }

    [Fact]
    public void then_once_disposed_its_bytes_are_no_longer_served()
    {
        var writer = new PooledBufferWriter(64);
        writer.Write("rows"u8);
        writer.Dispose();
        Should.Throw<ObjectDisposedException>(() => writer.WrittenMemory);
        Should.Throw<ObjectDisposedException>(() => writer.GetSpan());
        writer.Dispose();
    }

    [Fact]
    public void then_what_was_written_is_cleared_before_each_array_goes_back_to_the_pool()
    {
        var pool = ArrayPool<byte>.Create();
        var writer = new PooledBufferWriter(256, pool);
        writer.Write(Enumerable.Repeat((byte)0x5a, 200).ToArray());
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(writer.WrittenMemory, out var first).ShouldBeTrue();
        writer.Write(Enumerable.Repeat((byte)0x5b, 4_000).ToArray()); // outgrows the first array, which goes back
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(writer.WrittenMemory, out var second).ShouldBeTrue();
        second.Array.ShouldNotBeSameAs(first.Array);
        first.Array!.ShouldAllBe(b => b == 0);

        writer.Dispose();
        second.Array!.ShouldAllBe(b => b == 0);
    }

    [Fact]
    public void then_encoded_rows_are_unusable_once_disposed()
    {
        var rows = SpanRowsBinary.Of(SpanLog.Mixed("p", traces: 5, seed: 1).Events);
        rows.Spans.Length.ShouldBeGreaterThan(0);
        rows.Dispose();
        Should.Throw<ObjectDisposedException>(() => rows.Spans);
        Should.Throw<ObjectDisposedException>(() => rows.Traces);
    }
}
