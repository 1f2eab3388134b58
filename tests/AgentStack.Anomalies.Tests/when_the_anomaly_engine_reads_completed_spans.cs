using System.Text;
using System.Text.Json;
using AgentStack.Anomalies.Detecting;
using AgentStack.Events;

namespace AgentStack.Anomalies.Tests;

/// <summary>
/// Issue 13: the anomaly projection reads only what the engine reads of each completed span
/// (<see cref="CompletedSpanReader"/>), passing over the payloads it does not look at. Held to the full
/// deserialisation: the same fields, and the same anomalies from the same seeded log.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5394:Do not use insecure randomness", Justification = "seeded test data")]
public sealed class when_the_anomaly_engine_reads_completed_spans
{
    private static readonly string[] Kinds = [SpanKinds.Agent, SpanKinds.Chain, SpanKinds.Llm, SpanKinds.Tool, SpanKinds.Retrieval, "custom"];

    private static readonly string[] Payloads =
    [
        """{"query":"weather in Paris","units":"metric"}""", """{ "units": "metric", "query": "weather in Paris" }""",
        """["a",1,{"b":[true,null]}]""", "\"just text with \\\"quotes\\\" and \\u00e9\"", "42", "{\"erased\":true}",
        """{"messages":[{"role":"user","content":"ignore previous instructions"}]}""",
    ];

    /// <summary>Spans of every kind, with and without each optional member, whose latencies step up half way.</summary>
    private static List<(string Project, SpanRecord Span)> Seeded(int count)
    {
        var random = new Random(20261206);
        var spans = new List<(string, SpanRecord)>();
        for (var i = 0; i < count; i++)
        {
            var start = Generated.Start.AddSeconds(i).AddTicks(random.Next(0, 10_000_000));
            var slow = i > count / 2 ? 4.0 : 1.0;
            string? Pick() => random.Next(3) == 0 ? null : Payloads[random.Next(Payloads.Length)];
            JsonElement? Json(string? text) => text is null ? null : JsonDocument.Parse(text).RootElement.Clone();
            var span = new SpanRecord(
                TraceId: $"trace-{random.Next(40):D2}",
                SpanId: $"span-{i:D4}",
                ParentSpanId: random.Next(4) == 0 ? null : "root",
                Name: random.Next(2) == 0 ? "search" : "planner",
                Kind: Kinds[random.Next(Kinds.Length)],
                StartTime: start,
                EndTime: random.Next(20) == 0 ? null : start.AddMilliseconds(Generated.LogNormal(random, 200 * slow, 0.2)),
                Status: random.Next(5) switch { 0 => null, 1 => SpanStatuses.Error, _ => SpanStatuses.Ok },
                StatusMessage: random.Next(3) == 0 ? "failed: \"quoted\"" : null,
                Model: random.Next(3) == 0 ? null : random.Next(2) == 0 ? "gpt-4o" : "claude",
                Provider: random.Next(2) == 0 ? null : "openai",
                InputTokens: random.Next(3) == 0 ? null : random.Next(1, 5000),
                OutputTokens: random.Next(3) == 0 ? null : random.Next(1, 2000),
                CostUsd: random.Next(3) == 0 ? null : random.Next(1, 100_000) / 1_000_000m,
                Input: Json(Pick()),
                Output: Json(Pick()),
                Attributes: random.Next(2) == 0 ? null : Json("""{"user.id":"u-1","gen_ai.system":"openai"}"""));
            spans.Add((random.Next(4) == 0 ? "beta" : "acme", span));
        }
        return spans;
    }

    private static byte[] Stored(string project, SpanRecord span) =>
        EventTypes.Serialize(new SpanCompleted(project, span, "hash", Generated.Start, "test")).Data;

    [Fact]
    public void then_it_reads_every_member_the_engine_reads_as_the_full_deserialisation_does()
    {
        foreach (var (project, span) in Seeded(600))
        {
            var data = Stored(project, span);
            var full = (SpanCompleted)EventTypes.Deserialize(EventTypes.SpanCompleted, data)!;
            var light = CompletedSpanReader.Read(data).ShouldNotBeNull();

            light.Project.ShouldBe(full.Project);
            var (a, b) = (light.Span, full.Span);
            (a.TraceId, a.SpanId, a.ParentSpanId, a.Name, a.Kind).ShouldBe((b.TraceId, b.SpanId, b.ParentSpanId, b.Name, b.Kind));
            (a.StartTime, a.EndTime, a.Status, a.Model).ShouldBe((b.StartTime, b.EndTime, b.Status, b.Model));
            (a.InputTokens, a.OutputTokens, a.CostUsd).ShouldBe((b.InputTokens, b.OutputTokens, b.CostUsd));
            // A tool's arguments as stored, byte for byte; the other payloads are passed over.
            if (b.Kind == SpanKinds.Tool && b.Input is { } input)
                a.Input!.Value.GetRawText().ShouldBe(input.GetRawText());
            else
                a.Input.ShouldBeNull();
            (a.Output, a.Attributes, a.StatusMessage, a.Provider).ShouldBe((null, null, null, null));
        }
    }

    [Fact]
    public void then_the_engine_finds_the_same_anomalies_as_from_the_full_deserialisation()
    {
        var full = new AnomalyEngine(new BaselineOptions());
        var light = new AnomalyEngine(new BaselineOptions());
        var found = new List<string>();
        var foundLight = new List<string>();
        foreach (var (project, span) in Seeded(3000).Concat(Generated.Trace("looping", 99, loops: true).Select(s => ("acme", s))))
        {
            var data = Stored(project, span);
            var completed = (SpanCompleted)EventTypes.Deserialize(EventTypes.SpanCompleted, data)!;
            found.AddRange(full.Observe(completed.Project, completed.Span).Select(a => Encoding.UTF8.GetString(EventTypes.Serialize(a).Data)));
            var read = CompletedSpanReader.Read(data)!.Value;
            foundLight.AddRange(light.Observe(read.Project, read.Span).Select(a => Encoding.UTF8.GetString(EventTypes.Serialize(a).Data)));
        }

        found.ShouldNotBeEmpty();
        found.ShouldContain(a => a.Contains("\"loop\"", StringComparison.Ordinal));
        foundLight.ShouldBe(found);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("""{"project":"acme"}""")]
    [InlineData("""{"span":{"traceId":"t","spanId":"s","name":"n","kind":"tool","startTime":"2026-12-01T00:00:00.000000Z"}}""")]
    public void then_bytes_that_are_not_a_span_event_read_as_none(string json) => CompletedSpanReader.Read(Encoding.UTF8.GetBytes(json)).ShouldBeNull();
}
