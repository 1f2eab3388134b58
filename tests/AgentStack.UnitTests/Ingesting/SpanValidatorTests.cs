using System.Text.Json;
using AgentStack.Commands.Spans.Ingesting;

namespace AgentStack.UnitTests.Ingesting;

public sealed class when_validating_a_batch
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);
    private static readonly IngestOptions Limits = new() { MaxSpansPerBatch = 3, MaxPayloadBytes = 64, MaxDepth = 3, MaxAttributes = 2 };

    private static Dictionary<string, string[]> ErrorsFor(string spanJson)
    {
        var request = JsonSerializer.Deserialize($$"""{"spans":[{{spanJson}}]}""", IngestJsonContext.Default.SpanBatchRequest);
        return SpanValidator.Validate(request, Limits, Now).Errors;
    }

    private const string Valid = "\"traceId\":\"t1\",\"spanId\":\"s1\",\"name\":\"n\",\"kind\":\"llm\",\"startTime\":\"2026-11-24T10:00:00.123456Z\"";

    [Fact]
    public void then_a_valid_span_passes_and_keeps_microseconds()
    {
        var request = JsonSerializer.Deserialize($$"""{"spans":[{{{Valid}},"endTime":"2026-11-24T11:00:01.0000019+01:00"}]}""",
            IngestJsonContext.Default.SpanBatchRequest);
        var (spans, errors) = SpanValidator.Validate(request, Limits, Now);
        errors.ShouldBeEmpty();
        var span = spans.ShouldHaveSingleItem();
        span.StartTime.ShouldBe(new DateTimeOffset(2026, 11, 24, 10, 0, 0, TimeSpan.Zero).AddTicks(1_234_560));
        span.EndTime.ShouldBe(new DateTimeOffset(2026, 11, 24, 10, 0, 1, TimeSpan.Zero).AddTicks(10), "UTC, truncated to whole microseconds");
    }

    [Theory]
    [InlineData("""{"spanId":"s1","name":"n","kind":"llm","startTime":"2026-11-24T10:00:00Z"}""", "spans[0].traceId", "required")]
    [InlineData("""{"traceId":"t 1","spanId":"s1","name":"n","kind":"llm","startTime":"2026-11-24T10:00:00Z"}""", "spans[0].traceId", "letters")]
    [InlineData("""{"traceId":"t1\n","spanId":"s1","name":"n","kind":"llm","startTime":"2026-11-24T10:00:00Z"}""", "spans[0].traceId", "letters")]
    [InlineData("""{"traceId":"t1","spanId":"s1\n","name":"n","kind":"llm","startTime":"2026-11-24T10:00:00Z"}""", "spans[0].spanId", "letters")]
    [InlineData("""{"traceId":"t1","spanId":"s1","parentSpanId":"p1\n","name":"n","kind":"llm","startTime":"2026-11-24T10:00:00Z"}""", "spans[0].parentSpanId", "letters")]
    [InlineData("""{"traceId":"t1","spanId":"s1","name":"n","kind":"robot","startTime":"2026-11-24T10:00:00Z"}""", "spans[0].kind", "agent, chain")]
    [InlineData("""{"traceId":"t1","spanId":"s1","name":"n","kind":"llm","startTime":"yesterday"}""", "spans[0].startTime", "RFC 3339")]
    [InlineData("""{"traceId":"t1","spanId":"s1","name":"n","kind":"llm","startTime":"1970-01-01T00:00:00Z"}""", "spans[0].startTime", "range")]
    [InlineData("""{"traceId":"t1","spanId":"s1","name":"n","kind":"llm","startTime":"2026-11-24T10:00:00Z","endTime":"2026-11-24T09:00:00Z"}""", "spans[0].endTime", "before startTime")]
    [InlineData("""{"traceId":"t1","spanId":"s1","name":"","kind":"llm","startTime":"2026-11-24T10:00:00Z"}""", "spans[0].name", "required")]
    [InlineData("""{"traceId":"t1","spanId":"s1","name":"n","kind":"llm","startTime":"2026-11-24T10:00:00Z","status":"meh"}""", "spans[0].status", "ok or error")]
    [InlineData("""{"traceId":"t1","spanId":"s1","name":"n","kind":"llm","startTime":"2026-11-24T10:00:00Z","inputTokens":-1}""", "spans[0].inputTokens", "zero or more")]
    [InlineData("""{"traceId":"t1","spanId":"s1","name":"n","kind":"llm","startTime":"2026-11-24T10:00:00Z","outputTokens":9223372036854775807}""", "spans[0].outputTokens", "the limit is 1000000000000")]
    [InlineData("""{"traceId":"t1","spanId":"s1","name":"n","kind":"llm","startTime":"2026-11-24T10:00:00Z","input":"0123456789012345678901234567890123456789012345678901234567890123456789"}""", "spans[0].input", "limit is 64 bytes")]
    [InlineData("""{"traceId":"t1","spanId":"s1","name":"n","kind":"llm","startTime":"2026-11-24T10:00:00Z","output":[[[[1]]]]}""", "spans[0].output", "deeper than 3")]
    [InlineData("""{"traceId":"t1","spanId":"s1","name":"n","kind":"llm","startTime":"2026-11-24T10:00:00Z","attributes":{"a":1,"b":2,"c":3}}""", "spans[0].attributes", "limit is 2")]
    [InlineData("""{"traceId":"t1","spanId":"s1","name":"n","kind":"llm","startTime":"2026-11-24T10:00:00Z","attributes":[1]}""", "spans[0].attributes", "object")]
    [InlineData("""{"traceId":"t1","spanId":"s1","parentSpanId":"s1","name":"n","kind":"llm","startTime":"2026-11-24T10:00:00Z"}""", "spans[0].parentSpanId", "differ")]
    [InlineData("""{"traceId":"t\ud800","spanId":"s1","name":"n","kind":"llm","startTime":"2026-11-24T10:00:00Z"}""", "spans[0].traceId", "letters")]
    public void then_each_problem_names_its_field(string span, string field, string message)
    {
        var errors = ErrorsFor(span);
        errors.ShouldContainKey(field);
        errors[field].ShouldHaveSingleItem().ShouldContain(message);
    }

    /// <summary>
    /// An escaped unpaired surrogate is valid JSON (a string cut inside a pair by its writer): it is accepted and kept as
    /// sent, and counts as one character. Measuring the name, or a long string value, threw and was refused.
    /// </summary>
    [Theory]
    [InlineData("""{"k\ud800":1}""")]
    [InlineData("""{"k":"\udc00xxxxxxxxxx"}""")]
    [InlineData("""{"k":"x\ud83dxxxxxxxxx"}""")]
    public void then_an_unpaired_surrogate_in_an_attribute_is_accepted_as_sent(string attributes)
    {
        var request = JsonSerializer.Deserialize($$"""{"spans":[{{{Valid}},"attributes":{{attributes}}}]}""", IngestJsonContext.Default.SpanBatchRequest);
        var (spans, errors) = SpanValidator.Validate(request, new IngestOptions { MaxAttributeValueLength = 11 }, Now);
        errors.ShouldBeEmpty();
        spans.ShouldHaveSingleItem().Attributes!.Value.GetRawText().ShouldBe(attributes);
    }

    /// <summary>A span's own text fields are decoded: there an unpaired surrogate reads as U+FFFD. Reading the batch threw.</summary>
    [Fact]
    public void then_an_unpaired_surrogate_in_a_text_field_reads_as_u_fffd()
    {
        var request = JsonSerializer.Deserialize("""{"spans":[{"traceId":"t1","spanId":"s1","name":"caf\ud83d","kind":"llm","startTime":"2026-11-24T10:00:00Z","model":"gpt\udc00","statusMessage":"cut \ud83d\ud83d\ude00"}]}""",
            IngestJsonContext.Default.SpanBatchRequest);
        var (spans, errors) = SpanValidator.Validate(request, Limits, Now);
        errors.ShouldBeEmpty();
        var span = spans.ShouldHaveSingleItem();
        (span.Name, span.Model, span.StatusMessage).ShouldBe(("caf\uFFFD", "gpt\uFFFD", "cut \uFFFD\U0001F600"));
    }

    [Fact]
    public void then_a_long_value_holding_an_unpaired_surrogate_is_measured_in_characters()
    {
        var request = JsonSerializer.Deserialize($$$"""{"spans":[{{{{Valid}}},"attributes":{"k":"\udc00xxxxxxxxxx"}}]}""", IngestJsonContext.Default.SpanBatchRequest);
        var errors = SpanValidator.Validate(request, new IngestOptions { MaxAttributeValueLength = 10 }, Now).Errors;
        errors["spans[0].attributes.k"].ShouldHaveSingleItem().ShouldBe("attribute 'k' is 11 characters long; the limit is 10 (MaxAttributeValueLength)");
    }

    [Fact]
    public void then_too_many_spans_are_refused_with_the_limit()
    {
        var span = $"{{{Valid}}}";
        var request = JsonSerializer.Deserialize($$"""{"spans":[{{span}},{{span}},{{span}},{{span}}]}""", IngestJsonContext.Default.SpanBatchRequest);
        var (spans, errors) = SpanValidator.Validate(request, Limits, Now);
        spans.ShouldBeEmpty();
        errors["spans"].ShouldHaveSingleItem().ShouldContain("limit is 3");
    }

    [Fact]
    public void then_a_missing_spans_array_is_named()
    {
        SpanValidator.Validate(new SpanBatchRequest(), Limits, Now).Errors.ShouldContainKey("spans");
    }
}
