using System.Text;
using System.Text.Json;
using AgentStack.Erasure.Keys;
using AgentStack.Erasure.Sealing;
using AgentStack.Events;
using AgentStack.EventStore.Sqlite;
using AgentStack.Projections.Spans;
using static AgentStack.Analytics.Tests.Spans.SpanLog;

namespace AgentStack.Analytics.Tests.Spans;

/// <summary>
/// Issue 14 (rebuild throughput): a rebuild reads a sealed log as stored and opens only what its rows need (no start
/// its completion supersedes in the batch, no content hash). The rows must be byte for byte those of the same log
/// read opened, erased subjects included; the real SQLite store and key store, as the server keeps them.
/// </summary>
public sealed class when_a_sealed_log_is_read_for_rows : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("agentstack-sealed-rows-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(folder, recursive: true);
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Per trace: a span started then completed, one completed at once, one left open; three subjects in turn.</summary>
    private static SpanLog Log(int traces)
    {
        var log = new SpanLog("p");
        for (var t = 0; t < traces; t++)
        {
            var trace = $"{t:x32}";
            var start = T0.AddSeconds(t);
            SpanRecord WithPayloads(SpanRecord span) => span with
            {
                Input = Json($$"""{"prompt":"question {{t}} from u-{{t % 3}}"}"""),
                Output = Json($$"""{"answer":"reply {{t}}"}"""),
                Attributes = Json($$"""{"user.id":"u-{{t % 3}}","step":{{t}}}"""),
            };
            var root = WithPayloads(Span(trace, $"{t:x8}00000000", null, "agent run", start, 900, model: "gpt-4o", inputTokens: 10 + t, cost: 0.001m));
            var tool = WithPayloads(Span(trace, $"{t:x8}00000001", root.SpanId, "lookup", start.AddMilliseconds(5), 40, kind: "tool"));
            var open = WithPayloads(Span(trace, $"{t:x8}00000002", root.SpanId, "waiting", start.AddMilliseconds(50)));
            log.Started(root with { Output = null }).Completed(tool).Started(open with { Output = null }).Completed(root);
        }
        return log;
    }

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    [Fact]
    public async Task then_the_rows_are_those_of_the_opened_log_and_superseded_starts_stay_sealed()
    {
        var keys = new SubjectKeyring(new SqliteSubjectKeyStore(Path.Combine(folder, "keys.db"), KeyWrapping.None), TimeSpan.FromMinutes(1));
        var raw = new SqliteEventStore(new SqliteEventStoreOptions(Path.Combine(folder, "events.db")), TimeProvider.System);
        var store = new SealingEventStore(raw, new PayloadSealer(keys));
        var log = Log(traces: 30);
        foreach (var e in log.Events)
            await store.AppendAsync(e.Stream, StreamAppend.Any, [new EventData(e.Type, e.Data)], Ct);
        keys.Erase("p", "u-1").ShouldNotBeEmpty();

        // Batches of 7 split some starts from their completions: those are opened, since their row is sent.
        for (var after = 0L; after < log.Events.Count; after += 7)
        {
            var opened = await store.ReadAllAsync(after, 7, Ct);
            var forRows = await SpanRowsBinary.ReadAsync(store, after, 7, Ct);
            forRows.Events.Select(e => e.Position).ShouldBe(opened.Select(e => e.Position));
            forRows.Superseded.ShouldBe(SpanRowsBinary.Superseded(opened));
            var expected = SpanRowsBinary.Of(opened);
            var actual = SpanRowsBinary.Of(forRows);
            actual.Spans.ToArray().ShouldBe(expected.Spans.ToArray());
            actual.Traces.ToArray().ShouldBe(expected.Traces.ToArray());
            (actual.SpanRows, actual.TraceRows).ShouldBe((expected.SpanRows, expected.TraceRows));
        }

        var (batch, superseded) = await SpanRowsBinary.ReadAsync(store, 0, log.Events.Count, Ct);
        // In one batch each trace's root start (its first event) is superseded by the root's completion (its fourth).
        superseded.Select((s, i) => (s, i)).Where(x => x.s).Select(x => x.i).ShouldBe(Enumerable.Range(0, 30).Select(t => t * 4));
        for (var i = 0; i < batch.Count; i++)
        {
            var text = Encoding.UTF8.GetString(batch[i].Data);
            using var json = JsonDocument.Parse(batch[i].Data);
            var span = json.RootElement.GetProperty("span");
            json.RootElement.GetProperty("contentHash").ValueKind.ShouldBe(JsonValueKind.Object, "the content hash stays sealed");
            if (superseded[i])
                span.GetProperty("input").GetProperty("sealed").GetString().ShouldBe("v2");
            else if (text.Contains("\"erased\":true", StringComparison.Ordinal))
                text.ShouldNotContain("u-1");
            else
                span.GetProperty("input").GetProperty("prompt").GetString().ShouldStartWith("question");
        }
        batch.Count(e => Encoding.UTF8.GetString(e.Data).Contains("\"erased\":true", StringComparison.Ordinal)).ShouldBeGreaterThan(0);
    }

    [Fact]
    public async Task then_a_store_that_does_not_seal_is_read_as_it_reads()
    {
        await using var raw = new SqliteEventStore(new SqliteEventStoreOptions(Path.Combine(folder, "plain.db")), TimeProvider.System);
        var log = Log(traces: 3);
        foreach (var e in log.Events)
            await raw.AppendAsync(e.Stream, StreamAppend.Any, [new EventData(e.Type, e.Data)], Ct);

        var batch = await SpanRowsBinary.ReadAsync(raw, 0, 100, Ct);
        batch.Events.Select(e => Convert.ToHexString(e.Data)).ShouldBe(log.Events.Select(e => Convert.ToHexString(e.Data)));
    }
}
