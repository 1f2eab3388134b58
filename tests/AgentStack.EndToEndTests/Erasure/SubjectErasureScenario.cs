using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using AgentStack.Erasure.Keys;
using AgentStack.Erasure.Sealing;
using AgentStack.Events;
using AgentStack.Testing;
using static AgentStack.Testing.Spans;

namespace AgentStack.EndToEndTests.Erasure;

/// <summary>
/// Issue 14 acceptance, erasure: three subjects' spans in one trace (alice by <c>user.id</c>, bob by
/// <c>agentstack.subject</c> over a <c>user.id</c>, and spans with no subject), then alice is erased through the
/// API of a real server. Each store is then read as an attacker would read it: the raw event-store files,
/// the key store's files, the chDB data directory; and as users read it: trace detail, replay and the
/// presenter that exports use. The scenario runs once per class (this fixture); each fact checks one promise.
/// </summary>
public sealed class SubjectErasureRun<TStores> : IAsyncLifetime where TStores : ErasureStores, new()
{
    public readonly TStores Stores = new();
    public readonly string Trace = NewId();
    public readonly string Alice = "alice-" + NewId()[..8];
    public readonly string Bob = "bob-" + NewId()[..8];
    public readonly string AliceSecret = "alice-prompt-" + NewId();
    public readonly string AliceAnswer = "alice-answer-" + NewId();
    public readonly string BobSecret = "bob-prompt-" + NewId();
    public readonly string NobodySecret = "nobody-prompt-" + NewId();
    private static readonly DateTimeOffset Start = DateTimeOffset.UtcNow.AddMinutes(-5);

    public ServerProcess Server { get; private set; } = null!;
    public JsonObject Erasure { get; private set; } = null!;
    public JsonObject DetailBefore { get; private set; } = null!;
    public JsonObject DetailAfter { get; private set; } = null!;
    public string ReplayAfter { get; private set; } = "";
    public HttpStatusCode ResendStatus { get; private set; }
    public JsonObject DetailAfterResend { get; private set; } = null!;
    public byte[] AliceKeyBytes { get; private set; } = [];
    public List<StoredEvent> RawEvents { get; private set; } = [];

    public string AliceSpan => Span(Trace, "alice-llm", parent: "root", start: Start, end: Start.AddSeconds(1),
        input: $$"""{"messages":[{"role":"user","content":"{{AliceSecret}}"}]}""", output: $"\"{AliceAnswer}\"",
        extra: $$"""
        "attributes":{"user.id":"{{Alice}}","session.id":"s-1"}
        """);

    public async ValueTask InitializeAsync()
    {
        Server = await ServerProcess.StartAsync(Stores.Settings());
        var client = Server.Client;
        using (var sent = await client.PostSpansAsync(Batch(
            Span(Trace, "root", kind: "agent", start: Start, end: Start.AddSeconds(3), input: $"\"{NobodySecret}\""),
            AliceSpan,
            Span(Trace, "bob-tool", parent: "root", kind: "tool", start: Start, end: Start.AddSeconds(2), input: $"\"{BobSecret}\"",
                extra: $$"""
                "attributes":{"agentstack.subject":"{{Bob}}","user.id":"{{Alice}}"}
                """))))
            sent.StatusCode.ShouldBe(HttpStatusCode.OK, await sent.Content.ReadAsStringAsync());
        await Server.WaitForProjectionAsync();
        DetailBefore = (await client.GetFromJsonAsync<JsonObject>(new Uri($"/api/projects/default/traces/{Trace}", UriKind.Relative)))!;
        AliceKeyBytes = await AliceKeyAsync();

        using (var erase = await client.PostAsync(new Uri($"/api/projects/default/subjects/{Alice}/erase", UriKind.Relative), null))
        {
            erase.StatusCode.ShouldBe(HttpStatusCode.OK, await erase.Content.ReadAsStringAsync());
            Erasure = (await erase.Content.ReadFromJsonAsync<JsonObject>())!;
        }
        DetailAfter = (await client.GetFromJsonAsync<JsonObject>(new Uri($"/api/projects/default/traces/{Trace}", UriKind.Relative)))!;
        ReplayAfter = await client.GetStringAsync(new Uri($"/api/projects/default/traces/{Trace}/replay", UriKind.Relative));

        using (var resend = await client.PostSpansAsync(Batch(AliceSpan)))
            ResendStatus = resend.StatusCode;
        await Server.WaitForProjectionAsync();
        DetailAfterResend = (await client.GetFromJsonAsync<JsonObject>(new Uri($"/api/projects/default/traces/{Trace}", UriKind.Relative)))!;

        // Files are read with the server stopped only where the engine must be closed; chDB's are read live below.
        RawEvents = await ReadRawLogAsync();
    }

    public async ValueTask DisposeAsync() => await Server.DisposeAsync();

    /// <summary>Alice's key, found the way an attacker with the key store would: by the id in her sealed payload.</summary>
    private async Task<byte[]> AliceKeyAsync()
    {
        var events = await ReadRawLogAsync();
        var alice = events.Single(e => e.Stream == TraceStream.Name("default", Trace) && Encoding.UTF8.GetString(e.Data).Contains("\"alice-llm\"", StringComparison.Ordinal));
        var input = JsonNode.Parse(alice.Data)!["span"]!["input"]!;
        input["sealed"]!.GetValue<string>().ShouldBe("v2");
        var keys = Stores.OpenKeyStore(Server.DataDirectory);
        try
        {
            return keys.Find(input["key"]!.GetValue<string>()).ShouldNotBeNull();
        }
        finally
        {
            (keys as IDisposable)?.Dispose();
        }
    }

    private async Task<List<StoredEvent>> ReadRawLogAsync()
    {
        var store = Stores.OpenRawEventStore(Server.DataDirectory);
        try
        {
            return [.. await store.ReadAllAsync(0, 100_000, CancellationToken.None)];
        }
        finally
        {
            switch (store)
            {
                case IAsyncDisposable d: await d.DisposeAsync(); break;
                case IDisposable d: d.Dispose(); break;
            }
        }
    }
}

/// <summary>The facts of <see cref="SubjectErasureRun{TStores}"/>, checked against one run per class.</summary>
public abstract class SubjectErasureScenario<TStores>(SubjectErasureRun<TStores> run) : IClassFixture<SubjectErasureRun<TStores>>
    where TStores : ErasureStores, new()
{
    private static JsonObject SpanOf(JsonObject detail, string spanId) =>
        detail["spans"]!.AsArray().Single(s => s!["spanId"]!.GetValue<string>() == spanId)!.AsObject();

    [Fact]
    public void then_the_answer_names_the_subject_and_when()
    {
        run.Erasure["subject"]!.GetValue<string>().ShouldBe(run.Alice);
        run.Erasure["erasedAt"]!.GetValue<DateTimeOffset>().ShouldBeGreaterThan(DateTimeOffset.UtcNow.AddMinutes(-5));
        run.Erasure["keysDestroyed"]!.GetValue<int>().ShouldBe(1);
        run.Erasure["analyticsSpansErased"]!.GetValue<int>().ShouldBe(1);
    }

    [Fact]
    public void then_the_trace_detail_shows_her_payloads_erased_and_the_others_intact()
    {
        SpanOf(run.DetailBefore, "alice-llm")["input"]!.ToJsonString().ShouldContain(run.AliceSecret);
        var alice = SpanOf(run.DetailAfter, "alice-llm");
        alice["input"]!.ToJsonString().ShouldBe("""{"erased":true}""");
        alice["output"]!.ToJsonString().ShouldBe("""{"erased":true}""");
        alice["attributes"]!.ToJsonString().ShouldBe("""{"erased":true}""");
        alice["name"]!.GetValue<string>().ShouldBe("step"); // metadata is not personal payload (docs/privacy.md)
        SpanOf(run.DetailAfter, "bob-tool")["input"]!.GetValue<string>().ShouldBe(run.BobSecret);
        SpanOf(run.DetailAfter, "root")["input"]!.GetValue<string>().ShouldBe(run.NobodySecret);
    }

    [Fact]
    public void then_the_replay_shows_her_payloads_erased_and_the_others_as_received()
    {
        run.ReplayAfter.ShouldNotContain(run.AliceSecret);
        run.ReplayAfter.ShouldNotContain(run.AliceAnswer);
        var alice = run.ReplayAfter.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!)
            .Single(l => l["data"]!["span"]!["spanId"]!.GetValue<string>() == "alice-llm");
        alice["data"]!["span"]!["input"]!.ToJsonString().ShouldBe("""{"erased":true}""");
        alice["data"]!["contentHash"]!.GetValue<string>().ShouldBe("erased");
        run.ReplayAfter.ShouldContain(run.BobSecret);
        run.ReplayAfter.ShouldContain($"\"input\":\"{run.NobodySecret}\"");
    }

    [Fact]
    public void then_the_event_store_never_held_any_plaintext_payload()
    {
        var stored = string.Concat(run.RawEvents.Select(e => Encoding.UTF8.GetString(e.Data)));
        foreach (var secret in new[] { run.AliceSecret, run.AliceAnswer, run.Alice, run.BobSecret, run.Bob, run.NobodySecret })
            stored.ShouldNotContain(secret);
        foreach (var file in run.Stores.EventStoreFiles(run.Server.DataDirectory))
            foreach (var secret in new[] { run.AliceSecret, run.AliceAnswer, run.BobSecret, run.NobodySecret })
                ErasureStores.FileContains(file, Encoding.UTF8.GetBytes(secret)).ShouldBeFalse($"{file} holds {secret}");
    }

    [Fact]
    public void then_the_chain_of_the_stored_bytes_still_verifies()
    {
        run.RawEvents.ShouldContain(e => e.Type == EventTypes.SubjectErased);
        foreach (var stream in run.RawEvents.GroupBy(e => e.Stream))
            EventHash.Verify(stream.OrderBy(e => e.Version)).ShouldBeNull($"stream {stream.Key}");
    }

    [Fact]
    public void then_an_export_made_afterwards_shows_her_payloads_erased()
    {
        // The export reads RawEventStore and shows each event through IEventPresenter (docs/audit.md).
        var keys = run.Stores.OpenKeyStore(run.Server.DataDirectory);
        try
        {
            var presenter = new SealedEventPresenter(new PayloadSealer(new SubjectKeyring(keys, TimeSpan.FromSeconds(10))));
            var shown = string.Concat(run.RawEvents.Select(e => Encoding.UTF8.GetString(presenter.Present(e))));
            shown.ShouldNotContain(run.AliceSecret);
            shown.ShouldNotContain(run.AliceAnswer);
            shown.ShouldContain("{\"erased\":true}");
            shown.ShouldContain(run.BobSecret);
            shown.ShouldContain(run.NobodySecret);
        }
        finally
        {
            (keys as IDisposable)?.Dispose();
        }
    }

    [Fact]
    public void then_her_key_bytes_are_in_no_key_store_file()
    {
        run.AliceKeyBytes.Length.ShouldBe(32);
        var keys = run.Stores.OpenKeyStore(run.Server.DataDirectory);
        try
        {
            run.Stores.KeyStoreHolds(run.Server.DataDirectory, run.AliceKeyBytes).ShouldBeFalse();
        }
        finally
        {
            (keys as IDisposable)?.Dispose();
        }
    }

    [Fact]
    public async Task then_the_analytics_files_hold_her_plaintext_no_more()
    {
        var clickhouse = Path.Combine(run.Server.DataDirectory, "clickhouse");
        // run.Bob's prompt on disk shows the search can find a payload in chDB's files at all (blocks decompressed).
        ChDbFiles.Holding(clickhouse, run.BobSecret).ShouldNotBeEmpty();
        // Parts replaced by the erasing mutation are deleted after the table's old_parts_lifetime (10 s).
        await Eventually.UntilAsync(() => ChDbFiles.Holding(clickhouse, run.AliceSecret).Count == 0 && ChDbFiles.Holding(clickhouse, run.AliceAnswer).Count == 0,
            TimeSpan.FromSeconds(60), () => string.Join('\n', ChDbFiles.Holding(clickhouse, run.AliceSecret)) + "\n" + run.Server.Output);
    }

    [Fact]
    public void then_sending_her_span_again_is_refused_and_nothing_comes_back()
    {
        // Refused as a conflict when the handler reads the stream (the stored content hash is erased), or counted as
        // a duplicate when it still holds the trace's decided state in its cache: either way nothing is recorded.
        run.ResendStatus.ShouldBeOneOf(HttpStatusCode.Conflict, HttpStatusCode.OK);
        SpanOf(run.DetailAfterResend, "alice-llm")["input"]!.ToJsonString().ShouldBe("""{"erased":true}""");
    }
}

/// <summary>Where a scenario's stores are, and how the test reads them as stored.</summary>
public abstract class ErasureStores
{
    public abstract Dictionary<string, string> Settings();

    /// <summary>The key store as the test reads it directly (to find alice's key bytes before erasure).</summary>
    public abstract ISubjectKeyStore OpenKeyStore(string dataDirectory);

    /// <summary>The event store adapter itself, without sealing: the stored bytes.</summary>
    public abstract IEventStore OpenRawEventStore(string dataDirectory);

    public abstract IEnumerable<string> EventStoreFiles(string dataDirectory);

    public abstract bool KeyStoreHolds(string dataDirectory, byte[] bytes);

    public static bool FileContains(string path, byte[] needle) =>
        File.Exists(path) && File.ReadAllBytes(path).AsSpan().IndexOf(needle) >= 0;
}
