using AgentStack.Events;

namespace AgentStack.Otlp.Tests.Mapping;

/// <summary>One golden file per attribute family of issue 5, plus the facts each family must get right.</summary>
public sealed class when_otlp_spans_are_mapped
{
    [Fact]
    public void then_current_genai_semantic_conventions_match_the_golden_file()
    {
        var spans = GoldenFiles.Map("genai_current");
        GoldenFiles.ShouldMatchGolden(spans, "genai_current");

        var chat = spans.Single(s => s.SpanId == "00f067aa0ba902b7");
        (chat.Kind, chat.Model, chat.Provider, chat.InputTokens, chat.OutputTokens).ShouldBe((SpanKinds.Llm, "gpt-4o-2024-08-06", "openai", 120L, 30L));
        chat.Input!.Value.GetRawText().ShouldContain("You are a weather assistant.");
        chat.Output!.Value.GetRawText().ShouldContain("\"tool_call\"");
        chat.CostUsd.ShouldBe(120 * 0.0000025m + 30 * 0.00001m);
        spans.Single(s => s.SpanId == "53995c3f42cd8ad8").Kind.ShouldBe(SpanKinds.Tool);
        var agent = spans.Single(s => s.SpanId == "b7ad6b7169203331");
        agent.Kind.ShouldBe(SpanKinds.Agent);
        // The agent's usage is the sum of its model calls': kept as attributes, so a trace counts each call once.
        (agent.InputTokens, agent.OutputTokens, agent.CostUsd).ShouldBe((null, null, null));
        agent.Attributes!.Value.GetProperty("gen_ai.usage.input_tokens").GetInt64().ShouldBe(180);
        spans.Single(s => s.SpanId == "1a2b3c4d5e6f7081").Kind.ShouldBe(SpanKinds.Embedding);
        var failed = spans.Single(s => s.SpanId == "7c7bd2e5a2b4f3c1");
        (failed.Status, failed.StatusMessage).ShouldBe((SpanStatuses.Error, "The request timed out after 1500 ms"));
    }

    [Fact]
    public void then_the_older_span_event_form_matches_the_golden_file()
    {
        var spans = GoldenFiles.Map("genai_span_events");
        GoldenFiles.ShouldMatchGolden(spans, "genai_span_events");

        var chat = spans.Single(s => s.SpanId == "a3ce929d0e0e4736");
        (chat.Kind, chat.Model, chat.Provider, chat.InputTokens, chat.OutputTokens).ShouldBe((SpanKinds.Llm, "gpt-4o-mini-2024-07-18", "openai", 55L, 17L));
        chat.Input!.Value.GetArrayLength().ShouldBe(4);
        chat.Output!.Value.GetRawText().ShouldContain("It's rainy, 57°F.");
        spans.Single(s => s.SpanId == "d4e5f60718293a4b").Output!.Value.GetRawText().ShouldContain("Paris.");
    }

    [Fact]
    public void then_openllmetry_indexed_and_traceloop_attributes_match_the_golden_file()
    {
        var spans = GoldenFiles.Map("openllmetry");
        GoldenFiles.ShouldMatchGolden(spans, "openllmetry");

        var chat = spans.Single(s => s.SpanId == "eee19b7ec3c1b173");
        (chat.Kind, chat.Model, chat.Provider, chat.InputTokens, chat.OutputTokens).ShouldBe((SpanKinds.Llm, "gpt-4o-2024-08-06", "OpenAI", 25L, 14L));
        var old = spans.Single(s => s.SpanId == "eee19b7ec3c1b171");
        (old.Kind, old.Model, old.Provider, old.InputTokens, old.OutputTokens).ShouldBe((SpanKinds.Llm, "claude-3-5-sonnet-20241022", "Anthropic", 40L, 12L));
        spans.Single(s => s.SpanId == "eee19b7ec3c1b174").Kind.ShouldBe(SpanKinds.Chain);
        spans.Single(s => s.SpanId == "eee19b7ec3c1b172").Kind.ShouldBe(SpanKinds.Tool);
    }

    [Fact]
    public void then_openinference_attributes_match_the_golden_file()
    {
        var spans = GoldenFiles.Map("openinference");
        GoldenFiles.ShouldMatchGolden(spans, "openinference");

        var llm = spans.Single(s => s.SpanId == "0102030405060709");
        (llm.Kind, llm.Model, llm.Provider, llm.InputTokens, llm.OutputTokens).ShouldBe((SpanKinds.Llm, "gpt-4o-mini", "openai", 200L, 25L));
        spans.Select(s => s.Kind).ShouldBe([SpanKinds.Agent, SpanKinds.Llm, SpanKinds.Tool, SpanKinds.Retrieval, SpanKinds.Embedding,
            SpanKinds.Guardrail, SpanKinds.Chain]);
        var chain = spans.Single(s => s.SpanId == "010203040506070e");
        (chain.Status, chain.StatusMessage).ShouldBe((SpanStatuses.Error, "ValueError: empty context"));
    }
}
