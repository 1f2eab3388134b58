using System.Text.Json;
using AgentStack.Events;
using AgentStack.Security.SensitiveData;

namespace AgentStack.Security.Tests.SensitiveData;

/// <summary>
/// Masking at ingestion (docs/security-engine.md) rewrites a span's payloads before they are stored. Ingestion accepts
/// any valid JSON, an escaped lone surrogate included (<c>"caf\ud83d"</c>: a string cut inside a pair by the writer), so
/// masking must read such strings and names too: it threw, and the span's request answered 500.
/// </summary>
public sealed class when_a_span_is_masked
{
    private static SpanRecord Span(string input) => new("t", "s", null, "step", "llm", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch,
        "ok", null, null, null, null, null, null, JsonDocument.Parse(input).RootElement.Clone(), null, null);

    [Fact]
    public void then_a_payload_holding_an_escaped_lone_surrogate_is_masked_and_stays_valid_json()
    {
        var masked = SpanMasking.Apply(Span("""{"note":"caf\ud83d, SSN 219-45-6789","k\udc00":"x","pair":"\ud83d\ude00"}"""));

        var input = masked.Input.ShouldNotBeNull();
        var note = input.GetProperty("note").GetString()!;
        note.ShouldNotContain("219-45-6789");
        note.ShouldStartWith("caf\uFFFD, SSN ");
        input.GetProperty("k\uFFFD").GetString().ShouldBe("x");
        input.GetProperty("pair").GetString().ShouldBe("\U0001F600");
        masked.Attributes.ShouldNotBeNull().GetProperty(SpanMasking.MaskedAttribute).GetArrayLength().ShouldBe(1);
    }

    [Fact]
    public void then_a_payload_with_nothing_to_mask_is_kept_as_sent()
    {
        const string input = """{"note":"caf\ud83d","k\udc00":"x"}""";

        var masked = SpanMasking.Apply(Span(input));

        masked.Input.ShouldNotBeNull().GetRawText().ShouldBe(input);
        masked.Attributes.ShouldBeNull();
    }
}
