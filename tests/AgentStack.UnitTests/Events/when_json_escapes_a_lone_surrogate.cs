using System.Text;
using System.Text.Json;
using AgentStack.Events;

namespace AgentStack.UnitTests.Events;

/// <summary>Readers that refuse a document for an escaped lone surrogate get it written as U+FFFD, the same six bytes.</summary>
public sealed class when_json_escapes_a_lone_surrogate
{
    private static string? Replaced(string json) =>
        LoneSurrogates.AsReplacementCharacters(Encoding.UTF8.GetBytes(json)) is { } bytes ? Encoding.UTF8.GetString(bytes) : null;

    [Theory]
    [InlineData("""{"a":"caf\ud83d"}""", """{"a":"caf\ufffd"}""")]
    [InlineData("""{"a":"\uDC00x","b\uD800":"\\ud800"}""", """{"a":"\ufffdx","b\ufffd":"\\ud800"}""")]
    [InlineData("""["\ud83d\ud83d\ude00","\ude00\ud83d"]""", """["\ufffd\ud83d\ude00","\ufffd\ufffd"]""")]
    [InlineData("""["\ud83d\n"]""", """["\ufffd\n"]""")]
    [InlineData("""["\\\ud800\\"]""", """["\\\ufffd\\"]""")]
    public void then_each_one_is_written_as_u_fffd_and_reads_as_text(string json, string expected)
    {
        var replaced = Replaced(json).ShouldNotBeNull();
        replaced.ShouldBe(expected);
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(replaced));
        while (reader.Read())
        {
            if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName)
                reader.GetString(); // throws on a lone surrogate
        }
    }

    [Theory]
    [InlineData("""{"a":"caf\u00e9 \ud83d\ude00 \"q\" \\ud800"}""")]
    [InlineData("""{"a":1}""")]
    [InlineData("\"\\")]
    public void then_text_without_one_is_left_as_it_is(string json) => Replaced(json).ShouldBeNull();
}
