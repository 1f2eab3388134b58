using System.Globalization;
using System.Net;
using AgentStack.Testing;

namespace AgentStack.Dashboard.Tests.Browser;

/// <summary>
/// Realistic agent runs sent through POST /v1/spans the way an instrumented agent sends them: each span
/// first as started, later completed, so every trace's stream holds started and completed events. (The
/// demo agent of issue 6 was not ready when this was written; these runs follow its shape: a support
/// agent that plans with a model, calls a tool and a retrieval, and answers.)
/// </summary>
public static class AgentRuns
{
    public sealed record Run(string TraceId, string Name, bool Fails);

    public static async Task<IReadOnlyList<Run>> SendAsync(HttpClient client, int count)
    {
        var runs = new List<Run>();
        var now = DateTimeOffset.UtcNow;
        for (var i = 0; i < count; i++)
        {
            var trace = Spans.NewId();
            var fails = i % 4 == 3;
            var model = i % 2 == 0 ? "gpt-4o-mini" : "claude-3-5-sonnet";
            var start = now.AddMinutes(-5 * (count - i)).AddSeconds(-30);
            var question = $"Where is my order #{1000 + i}?";
            var root = Spans.NewId();
            var plan = Spans.NewId();
            var tool = Spans.NewId();
            var docs = Spans.NewId();
            var answer = Spans.NewId();
            string Messages(params (string Role, string Content)[] m) =>
                "[" + string.Join(',', m.Select(x => $$"""{"role":"{{x.Role}}","content":"{{x.Content}}"}""")) + "]";
            var provider = model.StartsWith("gpt", StringComparison.Ordinal) ? "openai" : "anthropic";
            string Usage(long input, long output, decimal cost) => string.Create(CultureInfo.InvariantCulture,
                $"\"model\":\"{model}\",\"provider\":\"{provider}\",\"inputTokens\":{input},\"outputTokens\":{output},\"costUsd\":{cost}");
            var system = ("system", "You are a helpful support agent for an online shop.");
            var planInput = Messages(system, ("user", question));
            var planOutput = $$$"""{"role":"assistant","content":"I will look the order up.","tool_calls":[{"name":"lookup_order","arguments":{"order":{{{1000 + i}}}}}]}""";
            var answerInput = Messages(system, ("user", question), ("assistant", "I will look the order up."), ("tool", $"Order {1000 + i}: shipped"));
            var answerOutput = $$"""{"role":"assistant","content":"Your order #{{1000 + i}} has shipped and arrives on Friday."}""";

            var t = start;
            var posts = new[]
            {
                Spans.Span(trace, root, name: "support-agent", kind: "agent", start: t, input: $$"""{"question":"{{question}}"}"""),
                Spans.Span(trace, plan, root, "plan", "llm", t.AddMilliseconds(20), input: planInput),
                Spans.Span(trace, plan, root, "plan", "llm", t.AddMilliseconds(20), t.AddMilliseconds(20 + 400 + i * 37), planInput, planOutput, extra: Usage(120 + i, 30 + i, 0.0012m + i * 0.0001m)),
                Spans.Span(trace, tool, root, "lookup_order", "tool", t.AddMilliseconds(500 + i * 40), input: $$"""{"order":{{1000 + i}}}"""),
                Spans.Span(trace, tool, root, "lookup_order", "tool", t.AddMilliseconds(500 + i * 40), t.AddMilliseconds(500 + i * 40 + 150 + i * 11),
                    $$"""{"order":{{1000 + i}}}""", fails ? """{"error":"order service timed out"}""" : $$"""{"order":{{1000 + i}},"status":"shipped"}""",
                    fails ? "error" : "ok", fails ? "\"statusMessage\":\"order service timed out\"" : null),
                Spans.Span(trace, docs, root, "shipping_policy", "retrieval", t.AddMilliseconds(900 + i * 40), t.AddMilliseconds(900 + i * 40 + 60 + i * 5),
                    """{"query":"shipping times"}""", """{"documents":["Orders ship within 2 days."]}"""),
                Spans.Span(trace, answer, root, "answer", "llm", t.AddMilliseconds(1100 + i * 60), input: answerInput),
                Spans.Span(trace, answer, root, "answer", "llm", t.AddMilliseconds(1100 + i * 60), t.AddMilliseconds(1100 + i * 60 + 700 + i * 23),
                    answerInput, answerOutput, extra: Usage(260 + i, 45 + i, 0.0031m + i * 0.0002m)),
                Spans.Span(trace, root, name: "support-agent", kind: "agent", start: t, end: t.AddMilliseconds(2000 + i * 100),
                    input: $$"""{"question":"{{question}}"}""", output: $$"""{"answer":"Your order #{{1000 + i}} has shipped."}""", status: fails ? "error" : "ok"),
            };
            foreach (var span in posts)
            {
                using var response = await client.PostSpansAsync(Spans.Batch(span));
                response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
            }
            runs.Add(new Run(trace, "support-agent", fails));
        }
        return runs;
    }
}
