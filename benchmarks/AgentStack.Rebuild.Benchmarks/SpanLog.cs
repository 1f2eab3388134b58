using System.Diagnostics;
using System.Globalization;
using System.Text;
using AgentStack.Erasure.Keys;
using AgentStack.Erasure.Sealing;
using AgentStack.EventStore.Sqlite;
using AgentStack.Events;

/// <summary>
/// The benchmark's log: traces of 10 spans, each span started then completed (20 events a trace), appended
/// in batches of 500 traces (10,000 events) a call, as the store's group commit would take them. Payloads are
/// sealed as the server stores them (<see cref="SealingEventStore"/>, keys in <c>keys.db</c> of the data
/// directory, 997 subjects), so a replay pays for opening them; <c>SEALED=off</c> writes them as received.
/// </summary>
internal static class SpanLog
{
    public static async Task WriteAsync(string dataDir, int total)
    {
        var inv = CultureInfo.InvariantCulture;
        const int SpansPerTrace = 10;
        var clock = Stopwatch.StartNew();
        await using (var log = new SqliteEventStore(new SqliteEventStoreOptions(Path.Combine(dataDir, "events.db")), TimeProvider.System))
        {
            // SEALED=off: payloads stored as received, as in a log written before sealing existed (the sealing store
            // reads such events as stored); the figures in BENCHMARKS.md before erasure were taken on such a log.
            var store = Environment.GetEnvironmentVariable("SEALED") == "off" ? log : Sealing(log, dataDir);
            var t0 = DateTimeOffset.UtcNow.AddDays(-1);
            var traces = total / (SpansPerTrace * 2);
            string[] models = ["gpt-4o", "claude-sonnet", "llama-3"];
            for (var first = 0; first < traces; first += 500)
            {
                var appends = new List<StreamAppend>();
                for (var t = first; t < Math.Min(traces, first + 500); t++)
                {
                    var traceId = t.ToString("x32", inv);
                    var start = t0.AddMilliseconds(t * 80.0);
                    var events = new List<EventData>(SpansPerTrace * 2);
                    var spans = Enumerable.Range(0, SpansPerTrace).Select(i => new SpanRecord(traceId, $"{t:x8}{i:x8}", i == 0 ? null : $"{t:x8}{0:x8}",
                        i == 0 ? "agent run" : $"step {i}", i == 0 ? "agent" : i % 3 == 0 ? "tool" : "llm", start.AddMilliseconds(i * 7), null,
                        null, null, i % 3 == 0 || i == 0 ? null : models[(t + i) % models.Length], i % 3 == 0 || i == 0 ? null : "openai",
                        null, null, null, Json($$"""{"messages":[{"role":"user","content":"question {{t}} step {{i}} about the order status"}]}"""), null,
                        Json($$"""{"agentstack.subject":"user-{{t % 997}}","step":{{i}}}"""))).ToList();
                    foreach (var span in spans)
                        events.Add(EventTypes.Serialize(new SpanStarted("default", span, "h", span.StartTime, "bench")));
                    foreach (var span in spans)
                    {
                        var done = span with
                        {
                            EndTime = span.StartTime.AddMilliseconds(20 + (t + span.SpanId.Length) % 400),
                            Status = (t % 17 == 0 && span.ParentSpanId is not null) ? "error" : "ok",
                            InputTokens = span.Model is null ? null : 100 + t % 50, OutputTokens = span.Model is null ? null : 20 + t % 30,
                            CostUsd = span.Model is null ? null : 0.00125m,
                            Output = Json($$"""{"content":"answer {{t}} for step {{span.Name}}"}"""),
                        };
                        events.Add(EventTypes.Serialize(new SpanCompleted("default", done, "h", done.EndTime!.Value, "bench")));
                    }
                    appends.Add(new StreamAppend(TraceStream.Name("default", traceId), StreamAppend.NoStream, events));
                }
                await store.AppendAsync(appends, CancellationToken.None);
            }
            var written = await store.GetLastPositionAsync(CancellationToken.None);
            Console.WriteLine(string.Create(inv, $"generated {written:N0} events{(store == log ? "" : " (payloads sealed)")} in {clock.Elapsed.TotalSeconds:0.0} s into {dataDir}"));
        }

    }

    /// <summary>The store as the server composes it: payloads sealed and opened with the keys of the data directory.</summary>
    public static IEventStore Sealing(IEventStore log, string dataDir) => new SealingEventStore(log, Sealer(dataDir));

    public static PayloadSealer Sealer(string dataDir) => new(new SubjectKeyring(
        new SqliteSubjectKeyStore(Path.Combine(dataDir, "keys.db"), KeyWrapping.FromBase64(null)), TimeSpan.FromMinutes(5)));

    private static System.Text.Json.JsonElement Json(string text) => System.Text.Json.JsonDocument.Parse(Encoding.UTF8.GetBytes(text)).RootElement.Clone();
}
