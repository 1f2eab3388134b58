using System.Text.Json;
using AgentStack.Events;

namespace AgentStack.Otlp.Tests.Mapping;

/// <summary>
/// One golden file per agent framework of issue 16. The Python frameworks cannot run here, so their exports are written
/// from the instrumentations' sources and the conventions' attribute names (CrewAI and LangChain through OpenLLMetry;
/// AutoGen/AG2, LangChain/LangGraph, the OpenAI Agents SDK and LlamaIndex through OpenInference; streamed calls of
/// both); the Vercel AI SDK's is a real export of <c>tests/otlp-clients</c> (times moved into the past).
/// </summary>
public sealed class when_framework_spans_are_mapped
{
    [Fact]
    public void then_crewai_workflows_and_tasks_are_chains_with_the_task_prompt_and_the_crew_result()
    {
        var spans = Golden("crewai");

        var workflow = Span(spans, "c1e0000000000001");
        // gen_ai.system "crewai" on the kickoff does not make it an LLM call.
        (workflow.Kind, workflow.Model, workflow.InputTokens).ShouldBe((SpanKinds.Chain, null, null));
        workflow.Output!.Value.GetString().ShouldBe("Tomorrow Paris will be rainy, 14 °C.");
        workflow.Attributes!.Value.TryGetProperty("crewai.crew.result", out _).ShouldBeFalse();

        var task = Span(spans, "c1e0000000000002");
        task.Kind.ShouldBe(SpanKinds.Chain);
        task.Input!.Value.GetProperty("description").GetString().ShouldBe("Find the weather in Paris for tomorrow.");
        task.Input!.Value.GetProperty("expected_output").GetString().ShouldBe("One sentence: conditions and temperature in °C.");
        task.Output!.Value.GetString().ShouldBe("Tomorrow Paris will be rainy, 14 °C.");

        (Span(spans, "c1e0000000000003").Kind, Span(spans, "c1e0000000000003").Model).ShouldBe((SpanKinds.Agent, "gpt-4o-mini"));
        Span(spans, "c1e0000000000004").Kind.ShouldBe(SpanKinds.Llm);
        var chat = Span(spans, "c1e0000000000005");
        (chat.Kind, chat.Model, chat.InputTokens, chat.OutputTokens).ShouldBe((SpanKinds.Llm, "gpt-4o-mini-2024-07-18", 310L, 42L));

        // The instrumentation's newer releases put gen_ai.operation.name invoke_agent on the workflow and the task.
        Span(spans, "c1e0000000000011").Kind.ShouldBe(SpanKinds.Chain);
        Span(spans, "c1e0000000000011").Output!.Value.GetString().ShouldBe("Tomorrow Paris will be rainy, 14 °C.");
        Span(spans, "c1e0000000000012").Kind.ShouldBe(SpanKinds.Chain);
        Span(spans, "c1e0000000000012").Input!.Value.GetProperty("description").GetString().ShouldBe("Find the weather in Paris for tomorrow.");
        Span(spans, "c1e0000000000013").Kind.ShouldBe(SpanKinds.Agent);
    }

    [Fact]
    public void then_autogen_function_results_are_tool_answers_in_the_input_conversation()
    {
        var spans = Golden("autogen");

        // The model client's answer (AutoGen's CreateResult in output.value) as an assistant message with its tool calls.
        ToolCallNames(Span(spans, "a0a0000000000003").Output!.Value).ShouldBe(["get_weather"]);
        var answer = Span(spans, "a0a0000000000004");
        answer.Kind.ShouldBe(SpanKinds.Llm);
        answer.Output!.Value[0].GetProperty("parts")[0].GetProperty("content").GetString().ShouldBe("It is rainy in Paris.");
        var input = answer.Input!.Value;
        input.GetArrayLength().ShouldBe(4);
        Parts(input[2], "reasoning").Single().GetProperty("content").GetString().ShouldBe("I should look the weather up.");
        Parts(input[2], "tool_call").Single().GetProperty("name").GetString().ShouldBe("get_weather");
        input[3].GetProperty("role").GetString().ShouldBe("tool");
        var results = Parts(input[3], "tool_call_response").ToList();
        results.Select(r => r.GetProperty("name").GetString()).ShouldBe(["get_weather", "get_forecast"]);
        results[0].GetProperty("id").GetString().ShouldBe("call_Qx1");
        // Where an indirect injection hides: the tool's answer, read by the detectors as part of the prompt.
        results[0].GetProperty("response").GetString()!.ShouldContain("IGNORE PREVIOUS INSTRUCTIONS");
        results[1].GetProperty("is_error").GetBoolean().ShouldBeTrue();
        answer.Attributes!.Value.EnumerateObject().ShouldNotContain(p => p.Name.StartsWith("llm.input_messages.", StringComparison.Ordinal));

        // The openai client underneath, with the older function role and function_call in message.*.
        var chat = Span(spans, "a0a0000000000005");
        (chat.Kind, chat.Model, chat.InputTokens, chat.OutputTokens).ShouldBe((SpanKinds.Llm, "gpt-4o-mini-2024-07-18", 120L, 9L));
        Parts(chat.Input!.Value[2], "tool_call").Single().GetProperty("name").GetString().ShouldBe("get_weather");
        var legacy = Parts(chat.Input!.Value[3], "tool_call_response").Single();
        (legacy.GetProperty("name").GetString(), chat.Input!.Value[3].GetProperty("role").GetString()).ShouldBe(("get_weather", "tool"));
        legacy.GetProperty("response").GetString()!.ShouldContain("IGNORE PREVIOUS INSTRUCTIONS");

        var tool = Span(spans, "a0a0000000000012");
        tool.Kind.ShouldBe(SpanKinds.Tool);
        tool.Input!.Value.GetProperty("name").GetString().ShouldBe("get_weather");
        Span(spans, "a0a0000000000011").Kind.ShouldBe(SpanKinds.Agent);
    }

    [Fact]
    public void then_langgraph_through_openinference_matches_the_golden_file()
    {
        var spans = Golden("langchain_openinference");
        spans.Select(s => s.Kind).ShouldBe([SpanKinds.Chain, SpanKinds.Chain, SpanKinds.Llm, SpanKinds.Chain, SpanKinds.Chain, SpanKinds.Tool, SpanKinds.Llm]);
        var call = Span(spans, "b100000000000003");
        (call.Model, call.Provider, call.InputTokens, call.OutputTokens).ShouldBe(("gpt-4o-mini-2024-07-18", "openai", 81L, 16L));
        ToolCallNames(call.Output!.Value).ShouldBe(["get_weather"]);
        ToolResults(Span(spans, "b100000000000007").Input!.Value).ShouldBe(["rainy in Paris"]);
        Span(spans, "b100000000000006").Output!.Value.GetProperty("kwargs").GetProperty("content").GetString().ShouldBe("rainy in Paris");
    }

    [Fact]
    public void then_langgraph_through_openllmetry_matches_the_golden_file()
    {
        var spans = Golden("langchain_openllmetry");
        spans.Select(s => s.Kind).ShouldBe([SpanKinds.Chain, SpanKinds.Chain, SpanKinds.Llm, SpanKinds.Tool, SpanKinds.Llm]);
        var call = Span(spans, "d100000000000003");
        (call.Model, call.InputTokens, call.OutputTokens).ShouldBe(("gpt-4o-mini-2024-07-18", 81L, 16L));
        ToolCallNames(call.Output!.Value).ShouldBe(["get_weather"]);
        var answer = Span(spans, "d100000000000005");
        ToolResults(answer.Input!.Value).ShouldBe(["rainy in Paris"]);
        ToolCallNames(answer.Input!.Value).ShouldBe(["get_weather"]);
        Span(spans, "d100000000000004").Input!.Value.GetProperty("inputs").GetProperty("city").GetString().ShouldBe("Paris");
        Span(spans, "d100000000000001").Output!.Value.GetProperty("outputs").ValueKind.ShouldBe(JsonValueKind.Object);
    }

    [Fact]
    public void then_the_openai_agents_sdk_through_openinference_matches_the_golden_file()
    {
        var spans = Golden("openai_agents");
        spans.Select(s => s.Kind).ShouldBe([SpanKinds.Agent, SpanKinds.Agent, SpanKinds.Llm, SpanKinds.Tool, SpanKinds.Llm, SpanKinds.Tool, SpanKinds.Agent]);
        var call = Span(spans, "e100000000000003");
        (call.Model, call.InputTokens, call.OutputTokens).ShouldBe(("gpt-4o-mini-2024-07-18", 64L, 15L));
        ToolCallNames(call.Output!.Value).ShouldBe(["get_weather"]);
        var answer = Span(spans, "e100000000000005");
        ToolResults(answer.Input!.Value).ShouldBe(["rainy in Paris"]);
        answer.Output!.Value.GetRawText().ShouldContain("It is rainy in Paris.");
        var tool = Span(spans, "e100000000000004");
        (tool.Input!.Value.GetProperty("city").GetString(), tool.Output!.Value.GetString()).ShouldBe(("Paris", "rainy in Paris"));
    }

    [Fact]
    public void then_llamaindex_through_openinference_matches_the_golden_file()
    {
        var spans = Golden("llamaindex");
        spans.Select(s => s.Kind).ShouldBe([SpanKinds.Chain, SpanKinds.Retrieval, SpanKinds.Embedding, SpanKinds.Chain, SpanKinds.Llm, SpanKinds.Tool]);
        var call = Span(spans, "f100000000000005");
        (call.Model, call.InputTokens, call.OutputTokens).ShouldBe(("gpt-4o-mini", 143L, 11L));
        Span(spans, "f100000000000002").Output!.Value.GetArrayLength().ShouldBe(2);
        Span(spans, "f100000000000003").Model.ShouldBe("text-embedding-ada-002");
        Span(spans, "f100000000000006").Output!.Value.GetString().ShouldBe("rainy in Paris");
    }

    [Fact]
    public void then_streamed_calls_carry_the_usage_of_their_final_chunk()
    {
        var spans = Golden("streaming");
        foreach (var span in spans)
        {
            (span.Kind, span.Model, span.InputTokens, span.OutputTokens).ShouldBe((SpanKinds.Llm, "gpt-4o-mini-2024-07-18", 50L, 10L));
            span.Output!.Value.GetRawText().ShouldContain("It is rainy in Paris.");
        }
    }

    [Fact]
    public void then_a_real_vercel_ai_sdk_export_matches_the_golden_file()
    {
        var spans = Golden("vercel_ai");
        string Kind(string name) => spans.Single(s => s.Name == name).Kind;
        (Kind("ai.generateText"), Kind("ai.toolCall"), Kind("ai.streamText"), Kind("ai.streamText.doStream"), Kind("ai.embed"), Kind("ai.embed.doEmbed"))
            .ShouldBe((SpanKinds.Chain, SpanKinds.Tool, SpanKinds.Chain, SpanKinds.Llm, SpanKinds.Chain, SpanKinds.Embedding));
        var calls = spans.Where(s => s.Name == "ai.generateText.doGenerate").ToList();
        calls.Select(c => (c.Kind, c.Model, c.InputTokens, c.OutputTokens)).ShouldBe(
            [(SpanKinds.Llm, "gpt-4o-mini-2024-07-18", 40L, 8L), (SpanKinds.Llm, "gpt-4o-mini-2024-07-18", 50L, 10L)]);
        ToolCallNames(calls[0].Output!.Value).ShouldBe(["get_weather"]);
        ToolResults(calls[1].Input!.Value).ShouldBe(["rainy in Paris"]);
        // Only the model calls carry tokens, so a trace's totals count each call once.
        spans.Where(s => s.InputTokens is not null).Sum(s => s.InputTokens).ShouldBe(40 + 50 + 50 + 5);
    }

    [Fact]
    public void then_the_vercel_ai_sdk_before_version_5_generate_object_and_embed_many_match_the_golden_file()
    {
        // Written from the SDK 4 attribute names: args/result, ai.usage.promptTokens/completionTokens, no gen_ai.usage.
        var spans = Golden("vercel_ai_v4");
        spans.Select(s => s.Kind).ShouldBe([SpanKinds.Chain, SpanKinds.Llm, SpanKinds.Tool, SpanKinds.Llm, SpanKinds.Chain, SpanKinds.Llm,
            SpanKinds.Chain, SpanKinds.Embedding]);
        var toolTurn = Span(spans, "9a00000000000002");
        (toolTurn.Model, toolTurn.InputTokens, toolTurn.OutputTokens).ShouldBe(("gpt-4o-mini", 40L, 8L));
        ToolCallNames(toolTurn.Output!.Value).ShouldBe(["get_weather"]);
        var answer = Span(spans, "9a00000000000004");
        ToolCallNames(answer.Input!.Value).ShouldBe(["get_weather"]);
        ToolResults(answer.Input!.Value).ShouldBe(["rainy in Paris"]);
        Span(spans, "9a00000000000001").Input!.Value.GetArrayLength().ShouldBe(2);
        Span(spans, "9a00000000000003").Output!.Value.GetString().ShouldBe("rainy in Paris");
        Span(spans, "9a00000000000006").Output!.Value.GetProperty("celsius").GetInt32().ShouldBe(14);
        (Span(spans, "9a00000000000006").Model, Span(spans, "9a00000000000006").InputTokens).ShouldBe(("gpt-4o-mini-2024-07-18", 30L));
        Span(spans, "9a00000000000005").InputTokens.ShouldBeNull();
        var embed = Span(spans, "9a00000000000008");
        (embed.Model, embed.InputTokens, embed.Input!.Value.GetArrayLength(), embed.Output!.Value[1][0].GetDouble()).ShouldBe(("text-embedding-3-small", 8L, 2, 0.3));
    }

    private static IReadOnlyList<SpanRecord> Golden(string family)
    {
        var spans = GoldenFiles.Map(family);
        GoldenFiles.ShouldMatchGolden(spans, family);
        return spans;
    }

    private static SpanRecord Span(IReadOnlyList<SpanRecord> spans, string spanId) => spans.Single(s => s.SpanId == spanId);

    private static IEnumerable<JsonElement> Parts(JsonElement message, string type) =>
        message.GetProperty("parts").EnumerateArray().Where(p => p.TryGetProperty("type", out var t) && t.GetString() == type);

    private static List<string> ToolCallNames(JsonElement messages) =>
        messages.EnumerateArray().SelectMany(m => Parts(m, "tool_call")).Select(p => p.GetProperty("name").GetString()!).ToList();

    private static List<string> ToolResults(JsonElement messages) =>
        messages.EnumerateArray().SelectMany(m => Parts(m, "tool_call_response")).Select(p => p.GetProperty("response").GetString()!).ToList();
}
