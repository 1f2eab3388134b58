using AgentStack.Queries.Comparing;
using AgentStack.Queries.Traces;

namespace AgentStack.Dashboard.Tests.Comparing;

/// <summary>The comparison view's step alignment (issue 16) as a pure function: no server, no engine.</summary>
public sealed class when_two_runs_are_aligned
{
    private static SpanView Span(string id, string? parent, string kind, string name, int second, string? input = null, string? output = null,
        string status = "ok") =>
        new("t", id, parent, name, kind, $"2026-03-10T00:00:{second:00}.000000Z", $"2026-03-10T00:00:{second + 1:00}.000000Z", 1000,
            status, null, null, null, null, null, null, input, output, null);

    private static readonly SpanView[] Left =
    [
        Span("a", null, "agent", "agent", 0, "\"q\"", "\"done\""),
        Span("l1", "a", "llm", "chat", 1, "[1]", "{\"tool_call\":\"price\"}"),
        Span("t1", "a", "tool", "execute_tool price", 2, "{\"p\":\"x\"}", "\"49\""),
        Span("l2", "a", "llm", "chat", 3, "[1,\"49\"]", "\"answer 49\""),
    ];

    [Fact]
    public void then_identical_runs_match_step_for_step()
    {
        var steps = RunAlignment.Align(Left, Left.Select(s => s with { SpanId = s.SpanId + "'" }).ToList());
        steps.Count.ShouldBe(4);
        steps.ShouldAllBe(s => s.Differences.Count == 0);
        RunAlignment.FirstDivergence(steps).ShouldBeNull();
    }

    [Fact]
    public void then_the_first_divergence_is_the_first_leaf_that_differs_not_its_parent()
    {
        var right = Left.Select(s => s.SpanId switch
        {
            "a" => s with { Output = "\"done differently\"" },
            "t1" => s with { Output = "\"99\"" },
            "l2" => s with { Input = "[1,\"99\"]", Output = "\"answer 99\"" },
            _ => s,
        }).ToList();
        var steps = RunAlignment.Align(Left, right);
        var divergence = RunAlignment.FirstDivergence(steps).ShouldNotBeNull();
        divergence.Index.ShouldBe(2);
        divergence.Field.ShouldBe("output");
        divergence.Label.ShouldBe("tool output");
        steps[0].Differences.ShouldBe(["output"], "the root's output differs too, as a consequence");
    }

    [Fact]
    public void then_a_step_added_in_one_run_shifts_nothing_after_it()
    {
        var right = new List<SpanView>(Left);
        right.Insert(2, Span("g", "a", "guardrail", "guard", 2));
        var steps = RunAlignment.Align(Left, right.Select((s, i) => s with { StartTime = $"2026-03-10T00:00:{i:00}.000000Z" }).ToList());
        steps.Select(s => (s.Left?.SpanId, s.Right?.SpanId)).ShouldBe([("a", "a"), ("l1", "l1"), (null, "g"), ("t1", "t1"), ("l2", "l2")]);
        var divergence = RunAlignment.FirstDivergence(steps).ShouldNotBeNull();
        divergence.Index.ShouldBe(2);
        divergence.Field.ShouldBe("missing");
    }

    [Fact]
    public void then_a_changed_prompt_is_named_and_json_order_does_not_count()
    {
        var right = Left.Select(s => s.SpanId == "l1" ? s with { Input = "[2]" } : s.SpanId == "t1" ? s with { Input = "{ \"p\" : \"x\" }" } : s).ToList();
        var divergence = RunAlignment.FirstDivergence(RunAlignment.Align(Left, right)).ShouldNotBeNull();
        (divergence.Index, divergence.Label).ShouldBe((1, "prompt"));
        RunAlignment.SameJson("{\"a\":1,\"b\":2}", "{\"b\":2,\"a\":1}").ShouldBeTrue();
        RunAlignment.SameJson("{\"a\":1}", "{\"a\":2}").ShouldBeFalse();
    }

    [Fact]
    public void then_payloads_that_repeat_a_key_compare_instead_of_failing()
    {
        RunAlignment.SameJson("{\"a\":1,\"a\":2}", "{ \"a\":1, \"a\":2 }").ShouldBeTrue();
        RunAlignment.SameJson("{\"a\":1,\"a\":2}", "{\"a\":3,\"a\":2}").ShouldBeFalse();
        var right = Left.Select(s => s.SpanId == "l1" ? s with { Input = "{\"m\":1,\"m\":1}" } : s).ToList();
        var divergence = RunAlignment.FirstDivergence(RunAlignment.Align(Left, right)).ShouldNotBeNull();
        (divergence.Index, divergence.Label).ShouldBe((1, "prompt"));
    }

    [Fact]
    public void then_the_rerun_link_is_read_from_attributes_that_repeat_a_key()
    {
        CompareEndpoints.RerunOf("{\"agentstack.rerun.of\":\"x\",\"k\":1,\"k\":2}").ShouldBe("x");
        CompareEndpoints.RerunOf("{\"agentstack.rerun.of\":\"x\",\"agentstack.rerun.of\":\"y\"}").ShouldBe("y");
        CompareEndpoints.RerunOf("{\"agentstack.rerun.of\":7}").ShouldBeNull();
        CompareEndpoints.RerunOf("[1]").ShouldBeNull();
        CompareEndpoints.RerunOf(null).ShouldBeNull();
    }
}
