using System.Text;
using AgentStack.Commands.Spans.Ingesting;

namespace AgentStack.UnitTests.Ingesting;

public sealed class when_json_text_is_checked
{
    /// <summary>
    /// The path to the bad byte was built at every level as its parent's path plus one step, each kept until the end: a body
    /// of n nested arrays built about 1.5 n² characters of paths (a 300 KB body of '[', some 30 GB).
    /// </summary>
    [Fact]
    public void then_a_deeply_nested_body_is_answered_without_building_every_levels_path()
    {
        const int depth = 10_000;
        var body = new byte[9 + depth + 1];
        "{\"spans\":"u8.CopyTo(body);
        body.AsSpan(9, depth).Fill((byte)'[');
        body[^1] = 0xFF;

        var before = GC.GetAllocatedBytesForCurrentThread();
        var found = JsonText.FindInvalidUtf8(body);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        var (field, detail) = found.ShouldNotBeNull();
        field.ShouldBe("spans" + new StringBuilder().Insert(0, "[0]", depth));
        detail.ShouldContain($"invalid byte 0xFF at byte offset {body.Length - 1}");
        allocated.ShouldBeLessThan(10L * 1024 * 1024, "bytes allocated to find a path of 30 KB");
    }

    [Theory]
    [InlineData(new byte[] { (byte)'[', 0xFF, (byte)']' }, "[0]")]
    [InlineData(new byte[] { (byte)'[', (byte)'1', (byte)',', (byte)'"', 0xFF, (byte)'"', (byte)']' }, "[1]")]
    [InlineData(new byte[] { (byte)'{', (byte)'"', (byte)'a', (byte)'"', (byte)':', (byte)'"', 0xFF, (byte)'"', (byte)'}' }, "a")]
    public void then_the_field_holding_the_bad_byte_is_named_whole(byte[] body, string field)
    {
        // A body that is an array lost its path's first character with the "$." of an object's: "[0]" read "0]".
        JsonText.FindInvalidUtf8(body).ShouldNotBeNull().Field.ShouldBe(field);
    }
}
