using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using AgentStack.Commands.Spans.RecordingSpans;
using AgentStack.Events;

namespace AgentStack.UnitTests.RecordingSpans;

/// <summary>
/// The command as the bus carries it (<see cref="RecordSpansOnTheBus"/>, spans as bytes) comes back as the command that
/// was sent: every field, each payload's exact bytes, and the partition key it was sent under.
/// </summary>
public sealed class when_a_record_spans_command_travels_as_bytes
{
    private static readonly DateTimeOffset Start = new DateTimeOffset(2026, 12, 6, 1, 2, 3, TimeSpan.Zero).AddTicks(4_560);

    private static JsonElement Json(string text) => JsonDocument.Parse(Encoding.UTF8.GetBytes(text)).RootElement.Clone();

    [Fact]
    public void then_it_comes_back_as_it_was_sent_byte_for_byte()
    {
        SpanRecord[] spans =
        [
            new("t-1", "root", null, "agent run", "agent", Start, Start.AddSeconds(2).AddTicks(10), "ok", null, "gpt-4o", "openai",
                412, 57, 0.00123456789m,
                Json("""{ "q" :  "exact \u00e9 \"bytes\"" ,"n":[1, 2.50 ,-0e3]}"""), Json("\"tab\\there\""), Json("""{"user.id":"u-1"}""")),
            new("t-1", "child", "root", "tool", "tool", Start.AddTicks(10), null, null, "still running", null, null,
                null, null, null, null, Json("17"), null),
            new("t-2", "other", null, "ünïcode 😀", "llm", Start, Start, "error", "boom", null, null, 0, 0, 0m, Json("[]"), Json("{}"), null),
        ];
        var command = new RecordSpans(Guid.NewGuid(), "project-a", "key_7", Start, spans);

        var onTheBus = RecordSpansOnTheBus.From(command);
        // As MassTransit's JSON serializer carries it: the message itself serialised and parsed back.
        var carried = JsonSerializer.Deserialize<RecordSpansOnTheBus>(JsonSerializer.Serialize(onTheBus))!;
        carried.PartitionKey.ShouldBe(command.PartitionKey);
        var back = carried.ToCommand();

        (back.CommandId, back.Project, back.ReceivedBy, back.ReceivedAt).ShouldBe((command.CommandId, command.Project, command.ReceivedBy, command.ReceivedAt));
        back.Spans.Count.ShouldBe(spans.Length);
        for (var i = 0; i < spans.Length; i++)
        {
            var (sent, received) = (spans[i], back.Spans[i]);
            (received with { Input = null, Output = null, Attributes = null }).ShouldBe(sent with { Input = null, Output = null, Attributes = null });
            Raw(received.Input).ShouldBe(Raw(sent.Input));
            Raw(received.Output).ShouldBe(Raw(sent.Output));
            Raw(received.Attributes).ShouldBe(Raw(sent.Attributes));
        }
    }

    private static string? Raw(JsonElement? element) =>
        element is { } e ? Encoding.UTF8.GetString(JsonMarshal.GetRawUtf8Value(e)) : null;
}
