using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using AgentStack.Events;
using AgentStack.EventStore.Sqlite;
using AgentStack.Testing;
using static AgentStack.Testing.Spans;

namespace AgentStack.EndToEndTests.Erasure;

/// <summary>
/// Issue 17.3 on a real server (SQLite log and key store, chDB): a trace that started 40 days ago and one that
/// started minutes ago, then a 30-day retention set through the admin API. The worker destroys the old day's payload
/// keys and has ClickHouse delete the old rows; the replay shows the old payloads erased, the chain still verifies,
/// the young trace is untouched, and the admin API shows the policy and the run (docs/retention.md).
/// </summary>
public sealed class RetentionScenario : IAsyncLifetime
{
    public readonly string OldTrace = NewId();
    public readonly string YoungTrace = NewId();
    public readonly string OldSecret = "old-prompt-" + NewId();
    public readonly string OldSubjectSecret = "old-subject-prompt-" + NewId();
    public readonly string YoungSecret = "young-prompt-" + NewId();
    private static readonly DateTimeOffset Old = DateTimeOffset.UtcNow.AddDays(-40);
    private static readonly DateTimeOffset Young = DateTimeOffset.UtcNow.AddMinutes(-5);

    public ServerProcess Server { get; private set; } = null!;
    public HttpStatusCode OldDetailBefore { get; private set; }
    public JsonObject SetAnswer { get; private set; } = null!;
    public JsonObject Status { get; private set; } = null!;
    public HttpStatusCode OldDetailAfter { get; private set; }
    public JsonObject YoungDetailAfter { get; private set; } = null!;
    public string OldReplay { get; private set; } = "";
    public string YoungReplay { get; private set; } = "";
    public JsonObject Verify { get; private set; } = null!;
    public List<StoredEvent> RawEvents { get; private set; } = [];
    public HttpStatusCode ZeroDays { get; private set; }
    public string ZeroDaysBody { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        Server = await ServerProcess.StartAsync();
        var client = Server.Client;
        using (var sent = await client.PostSpansAsync(Batch(
            Span(OldTrace, "root", kind: "agent", start: Old, end: Old.AddSeconds(3), input: $"\"{OldSecret}\""),
            Span(OldTrace, "llm", parent: "root", start: Old, end: Old.AddSeconds(1), input: $"\"{OldSubjectSecret}\"",
                extra: "\"attributes\":{\"user.id\":\"old-user\"}"),
            Span(YoungTrace, "root", kind: "agent", start: Young, end: Young.AddSeconds(2), input: $"\"{YoungSecret}\""))))
            sent.StatusCode.ShouldBe(HttpStatusCode.OK, await sent.Content.ReadAsStringAsync());
        await Server.WaitForProjectionAsync();
        using (var before = await client.GetAsync(Uri($"/api/projects/default/traces/{OldTrace}")))
            OldDetailBefore = before.StatusCode;

        using (var zero = await client.PutAsJsonAsync(Uri("/api/projects/default/retention"), new { days = 0 }))
        {
            ZeroDays = zero.StatusCode;
            ZeroDaysBody = await zero.Content.ReadAsStringAsync();
        }
        using (var set = await client.PutAsJsonAsync(Uri("/api/projects/default/retention"), new { days = 30 }))
        {
            set.StatusCode.ShouldBe(HttpStatusCode.OK, await set.Content.ReadAsStringAsync());
            SetAnswer = (await set.Content.ReadFromJsonAsync<JsonObject>())!;
        }
        // Setting the policy runs the worker at once; its run is recorded in the log and shown by the API.
        await Eventually.UntilAsync(async () =>
        {
            Status = (await client.GetFromJsonAsync<JsonObject>(Uri("/api/projects/default/retention")))!;
            return Status["runs"]!.AsArray().Count > 0;
        }, TimeSpan.FromSeconds(60), () => Status?.ToJsonString() ?? "no answer" + Server.Output);

        using (var after = await client.GetAsync(Uri($"/api/projects/default/traces/{OldTrace}")))
            OldDetailAfter = after.StatusCode;
        YoungDetailAfter = (await client.GetFromJsonAsync<JsonObject>(Uri($"/api/projects/default/traces/{YoungTrace}")))!;
        OldReplay = await client.GetStringAsync(Uri($"/api/projects/default/traces/{OldTrace}/replay"));
        YoungReplay = await client.GetStringAsync(Uri($"/api/projects/default/traces/{YoungTrace}/replay"));
        Verify = (await client.GetFromJsonAsync<JsonObject>(Uri("/api/projects/default/audit/verify")))!;
        var store = new SqliteEventStore(new SqliteEventStoreOptions(Path.Combine(Server.DataDirectory, "events.db")), TimeProvider.System);
        try
        {
            RawEvents = [.. await store.ReadAllAsync(0, 100_000, CancellationToken.None)];
        }
        finally
        {
            await store.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync() => await Server.DisposeAsync();

    private static Uri Uri(string path) => new(path, UriKind.Relative);
}

public sealed class when_a_projects_retention_passes(RetentionScenario run) : IClassFixture<RetentionScenario>
{
    private static IEnumerable<JsonNode> Lines(string ndjson) =>
        ndjson.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!);

    [Fact]
    public void then_the_policy_is_set_and_shown_with_the_run_and_what_it_removed()
    {
        run.SetAnswer["days"]!.GetValue<int>().ShouldBe(30);
        run.SetAnswer["setBy"]!.GetValue<string>().ShouldStartWith("key_");
        run.Status["days"]!.GetValue<int>().ShouldBe(30);
        var last = run.Status["runs"]!.AsArray()[0]!;
        last["retentionDays"]!.GetValue<int>().ShouldBe(30);
        last["keysDestroyed"]!.GetValue<int>().ShouldBe(2); // old-user's key and the project-wide key of that day
        last["spansExpired"]!.GetValue<long>().ShouldBe(2);
        last["tracesExpired"]!.GetValue<long>().ShouldBe(1);
        last["cutoff"]!.GetValue<DateTimeOffset>().ShouldBe(
            new DateTimeOffset(DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-30).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero));
    }

    [Fact]
    public void then_a_policy_outside_the_range_is_refused_naming_days()
    {
        run.ZeroDays.ShouldBe(HttpStatusCode.BadRequest);
        run.ZeroDaysBody.ShouldContain("days");
    }

    [Fact]
    public void then_the_old_payloads_read_erased_in_the_replay_and_the_young_ones_as_received()
    {
        run.OldReplay.ShouldNotContain(run.OldSecret);
        run.OldReplay.ShouldNotContain(run.OldSubjectSecret);
        var spans = Lines(run.OldReplay).Where(l => l["type"]!.GetValue<string>().StartsWith("span.", StringComparison.Ordinal)).ToList();
        spans.Count.ShouldBe(2);
        foreach (var span in spans)
        {
            span["data"]!["span"]!["input"]!.ToJsonString().ShouldBe("""{"erased":true}""");
            span["data"]!["contentHash"]!.GetValue<string>().ShouldBe("erased");
        }
        run.YoungReplay.ShouldContain($"\"input\":\"{run.YoungSecret}\"");
    }

    [Fact]
    public void then_the_old_analytics_rows_are_gone_and_the_young_ones_stay()
    {
        run.OldDetailBefore.ShouldBe(HttpStatusCode.OK);
        run.OldDetailAfter.ShouldBe(HttpStatusCode.NotFound);
        run.YoungDetailAfter["spans"]!.AsArray().Single()!["input"]!.GetValue<string>().ShouldBe(run.YoungSecret);
    }

    [Fact]
    public void then_the_log_records_the_policy_and_the_run_and_its_chain_still_verifies()
    {
        run.Verify["valid"]!.GetValue<bool>().ShouldBeTrue(run.Verify.ToJsonString());
        var policy = run.RawEvents.Where(e => e.Type == RetentionEventTypes.PolicySet).ShouldHaveSingleItem();
        policy.Stream.ShouldBe(AccessStream.Name("default"));
        var applied = run.RawEvents.Where(e => e.Type == RetentionEventTypes.Applied).ShouldHaveSingleItem();
        applied.Stream.ShouldBe(RetentionStream.Name("default"));
        var recorded = (RetentionApplied)EventTypes.Deserialize(applied.Type, applied.Data)!;
        recorded.KeyIds.Count.ShouldBe(2);
        recorded.AppliedBy.ShouldBe("retention");
        // The destroyed keys are the ones the old spans' stored payloads name; the stored bytes are unchanged ciphertext.
        var oldSpans = run.RawEvents.Where(e => e.Stream == TraceStream.Name("default", run.OldTrace)).ToList();
        foreach (var e in oldSpans)
            recorded.KeyIds.ShouldContain(JsonNode.Parse(e.Data)!["span"]!["input"]!["key"]!.GetValue<string>());
        Encoding.UTF8.GetString(oldSpans.SelectMany(e => e.Data).ToArray()).ShouldNotContain(run.OldSecret);
        foreach (var stream in run.RawEvents.GroupBy(e => e.Stream))
            EventHash.Verify(stream.OrderBy(e => e.Version)).ShouldBeNull($"stream {stream.Key}");
    }
}
