using System.Text;
using System.Text.Json.Nodes;
using AgentStack.Erasure.Sealing;
using AgentStack.EventStore.Sqlite;
using AgentStack.Events;

namespace AgentStack.EventStore.Tests.Erasure;

/// <summary>
/// Issue 13: the events this process appends reach the projections tailing the log as appended, without a read of the
/// store or a decryption; what they get is exactly what reading and opening the log gives.
/// </summary>
public sealed class when_span_events_are_appended_in_this_process : IClassFixture<SqliteDatabaseFolder<when_span_events_are_appended_in_this_process>>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly SqliteDatabaseFolder<when_span_events_are_appended_in_this_process> folder;

    public when_span_events_are_appended_in_this_process(SqliteDatabaseFolder<when_span_events_are_appended_in_this_process> folder) =>
        this.folder = folder;

    private (SealingEventStore Store, SqliteEventStore Raw, CountingEventStore Counted, AgentStack.Erasure.Keys.SubjectKeyring Keys) Open(string name)
    {
        CountingEventStore? counted = null;
        var (store, raw, keys) = SealedLogs.Open(folder.Path, name, inner => counted = new CountingEventStore(inner, passesCommits: true));
        return (store, raw, counted!, keys);
    }

    [Fact]
    public async Task then_readers_of_the_log_get_them_without_reading_the_store_and_as_a_read_would_give_them()
    {
        var (store, raw, counted, keys) = Open("as-appended");
        await store.AppendAsync("trace-p1-t1", StreamAppend.NoStream,
            [SealedLogs.SpanEvent("a", """{"q":"é"}""", "\"yes\"", """{"user.id":"alice"}"""), SealedLogs.SpanEvent("b", "1", "2", null)], Ct);
        await store.AppendAsync("other", StreamAppend.NoStream, TestEvents.Numbered(2), Ct);

        var served = await store.ReadAllAsync(0, 10, Ct);
        counted.AllReads.ShouldBe(0);

        // A reader with nothing shared: the store read and every event opened.
        var read = await new SealingEventStore(raw, new PayloadSealer(keys)).ReadAllAsync(0, 10, Ct);
        served.Count.ShouldBe(4);
        Describe(served).ShouldBe(Describe(read));
        Encoding.UTF8.GetString(served[0].Data).ShouldContain("alice");
        Encoding.UTF8.GetString((await raw.ReadAllAsync(0, 1, Ct))[0].Data).ShouldNotContain("alice");
    }

    [Fact]
    public async Task then_an_erasure_after_the_append_is_seen_at_once()
    {
        var (store, _, counted, keys) = Open("erased-after");
        await store.AppendAsync("trace-p1-t1", StreamAppend.NoStream,
            [SealedLogs.SpanEvent("a", """{"q":"é"}""", "\"yes\"", """{"user.id":"alice"}""")], Ct);

        keys.Erase("p1", "alice");

        var read = await store.ReadAllAsync(0, 10, Ct);
        counted.AllReads.ShouldBe(1);
        JsonNode.Parse(read[0].Data)!["span"]!["input"]!.ToJsonString().ShouldBe("""{"erased":true}""");
    }

    [Fact]
    public async Task then_a_store_tells_a_commit_to_its_observers_before_it_wakes_the_readers()
    {
        await using var raw = new SqliteEventStore(new SqliteEventStoreOptions(Path.Combine(folder.Path, "observed-events.db")), TimeProvider.System);
        var seen = new List<long>();
        raw.OnCommitted(events => { lock (seen) seen.AddRange(events.Select(e => e.Position)); });
        var woken = raw.WaitForEventsAfterAsync(0, Ct).ContinueWith(_ => { lock (seen) return seen.ToList(); }, Ct,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

        await raw.AppendAsync("s", StreamAppend.NoStream, TestEvents.Numbered(3), Ct);

        (await woken).ShouldBe([1L, 2, 3]);
    }

    private static List<string> Describe(IReadOnlyList<StoredEvent> events) =>
        [.. events.Select(e => $"{e.Position} {e.Stream} {e.Version} {e.Type} {e.RecordedAt:O} {e.Hash} {e.PrevHash} {Convert.ToHexString(e.Data)}")];
}
