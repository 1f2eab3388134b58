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
/// presenter that exports use. The scenario runs once per class; each fact checks one promise.
/// </summary>
public abstract class SubjectErasureScenario : IAsyncLifetime
{
    protected readonly string Trace = NewId();
    protected readonly string Alice = "alice-" + NewId()[..8];
    protected readonly string Bob = "bob-" + NewId()[..8];
    protected readonly string AliceSecret = "alice-prompt-" + NewId();
    protected readonly string AliceAnswer = "alice-answer-" + NewId();
    protected readonly string BobSecret = "bob-prompt-" + NewId();
    protected readonly string NobodySecret = "nobody-prompt-" + NewId();
    private static readonly DateTimeOffset Start = DateTimeOffset.UtcNow.AddMinutes(-5);

    protected ServerProcess Server { get; private set; } = null!;
    protected JsonObject Erasure { get; private set; } = null!;
    protected JsonObject DetailBefore { get; private set; } = null!;
    protected JsonObject DetailAfter { get; private set; } = null!;
    protected string ReplayAfter { get; private set; } = "";
    protected HttpStatusCode ResendStatus { get; private set; }
    protected JsonObject DetailAfterResend { get; private set; } = null!;
    protected byte[] AliceKeyBytes { get; private set; } = [];
    protected List<StoredEvent> RawEvents { get; private set; } = [];

    protected string AliceSpan => Span(Trace, "alice-llm", parent: "root", start: Start, end: Start.AddSeconds(1),
        input: $$"""{"messages":[{"role":"user","content":"{{AliceSecret}}"}]}""", output: $"\"{AliceAnswer}\"",
        extra: $$"""
        "attributes":{"user.id":"{{Alice}}","session.id":"s-1"}
        """);

    protected abstract Dictionary<string, string> Settings();

    /// <summary>The key store as the test reads it directly (to find alice's key bytes before erasure).</summary>
    protected abstract ISubjectKeyStore OpenKeyStore();

    /// <summary>The event store adapter itself, without sealing: the stored bytes.</summary>
    protected abstract IEventStore OpenRawEventStore();

    public async ValueTask InitializeAsync()
    {
        Server = await ServerProcess.StartAsync(Settings());
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
        input["sealed"]!.GetValue<string>().ShouldBe("v1");
        var keys = OpenKeyStore();
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
        var store = OpenRawEventStore();
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

    private static JsonObject SpanOf(JsonObject detail, string spanId) =>
        detail["spans"]!.AsArray().Single(s => s!["spanId"]!.GetValue<string>() == spanId)!.AsObject();

    [Fact]
    public void then_the_answer_names_the_subject_and_when()
    {
        Erasure["subject"]!.GetValue<string>().ShouldBe(Alice);
        Erasure["erasedAt"]!.GetValue<DateTimeOffset>().ShouldBeGreaterThan(DateTimeOffset.UtcNow.AddMinutes(-5));
        Erasure["keysDestroyed"]!.GetValue<int>().ShouldBe(1);
        Erasure["analyticsSpansErased"]!.GetValue<int>().ShouldBe(1);
    }

    [Fact]
    public void then_the_trace_detail_shows_her_payloads_erased_and_the_others_intact()
    {
        SpanOf(DetailBefore, "alice-llm")["input"]!.ToJsonString().ShouldContain(AliceSecret);
        var alice = SpanOf(DetailAfter, "alice-llm");
        alice["input"]!.ToJsonString().ShouldBe("""{"erased":true}""");
        alice["output"]!.ToJsonString().ShouldBe("""{"erased":true}""");
        alice["attributes"]!.ToJsonString().ShouldBe("""{"erased":true}""");
        alice["name"]!.GetValue<string>().ShouldBe("step"); // metadata is not personal payload (docs/privacy.md)
        SpanOf(DetailAfter, "bob-tool")["input"]!.GetValue<string>().ShouldBe(BobSecret);
        SpanOf(DetailAfter, "root")["input"]!.GetValue<string>().ShouldBe(NobodySecret);
    }

    [Fact]
    public void then_the_replay_shows_her_payloads_erased_and_the_others_as_received()
    {
        ReplayAfter.ShouldNotContain(AliceSecret);
        ReplayAfter.ShouldNotContain(AliceAnswer);
        var alice = ReplayAfter.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!)
            .Single(l => l["data"]!["span"]!["spanId"]!.GetValue<string>() == "alice-llm");
        alice["data"]!["span"]!["input"]!.ToJsonString().ShouldBe("""{"erased":true}""");
        alice["data"]!["contentHash"]!.GetValue<string>().ShouldBe("erased");
        ReplayAfter.ShouldContain(BobSecret);
        ReplayAfter.ShouldContain($"\"input\":\"{NobodySecret}\"");
    }

    [Fact]
    public void then_the_event_store_never_held_any_plaintext_payload()
    {
        var stored = string.Concat(RawEvents.Select(e => Encoding.UTF8.GetString(e.Data)));
        foreach (var secret in new[] { AliceSecret, AliceAnswer, Alice, BobSecret, Bob, NobodySecret })
            stored.ShouldNotContain(secret);
        foreach (var file in EventStoreFiles())
            foreach (var secret in new[] { AliceSecret, AliceAnswer, BobSecret, NobodySecret })
                FileContains(file, Encoding.UTF8.GetBytes(secret)).ShouldBeFalse($"{file} holds {secret}");
    }

    [Fact]
    public void then_the_chain_of_the_stored_bytes_still_verifies()
    {
        RawEvents.ShouldContain(e => e.Type == EventTypes.SubjectErased);
        foreach (var stream in RawEvents.GroupBy(e => e.Stream))
            EventHash.Verify(stream.OrderBy(e => e.Version)).ShouldBeNull($"stream {stream.Key}");
    }

    [Fact]
    public void then_an_export_made_afterwards_shows_her_payloads_erased()
    {
        // The export reads RawEventStore and shows each event through IEventPresenter (docs/audit.md).
        var keys = OpenKeyStore();
        try
        {
            var presenter = new SealedEventPresenter(new PayloadSealer(new SubjectKeyring(keys, TimeSpan.FromSeconds(10))));
            var shown = string.Concat(RawEvents.Select(e => Encoding.UTF8.GetString(presenter.Present(e))));
            shown.ShouldNotContain(AliceSecret);
            shown.ShouldNotContain(AliceAnswer);
            shown.ShouldContain("{\"erased\":true}");
            shown.ShouldContain(BobSecret);
            shown.ShouldContain(NobodySecret);
        }
        finally
        {
            (keys as IDisposable)?.Dispose();
        }
    }

    [Fact]
    public void then_her_key_bytes_are_in_no_key_store_file()
    {
        AliceKeyBytes.Length.ShouldBe(32);
        var keys = OpenKeyStore();
        try
        {
            KeyStoreHolds(AliceKeyBytes).ShouldBeFalse();
        }
        finally
        {
            (keys as IDisposable)?.Dispose();
        }
    }

    [Fact]
    public async Task then_the_analytics_files_hold_her_plaintext_no_more()
    {
        var clickhouse = Path.Combine(Server.DataDirectory, "clickhouse");
        // Bob's prompt on disk shows the search can find a payload in chDB's files at all.
        ChDbFilesHolding(clickhouse, BobSecret).ShouldNotBeEmpty();
        // Parts replaced by the erasing mutation are deleted after the table's old_parts_lifetime (10 s).
        await Eventually.UntilAsync(() => ChDbFilesHolding(clickhouse, AliceSecret).Count == 0 && ChDbFilesHolding(clickhouse, AliceAnswer).Count == 0,
            TimeSpan.FromSeconds(60), () => string.Join('\n', ChDbFilesHolding(clickhouse, AliceSecret)) + "\n" + Server.Output);
    }

    [Fact]
    public void then_sending_her_span_again_is_refused_and_nothing_comes_back()
    {
        ResendStatus.ShouldBe(HttpStatusCode.Conflict);
        SpanOf(DetailAfterResend, "alice-llm")["input"]!.ToJsonString().ShouldBe("""{"erased":true}""");
    }

    protected abstract IEnumerable<string> EventStoreFiles();

    protected abstract bool KeyStoreHolds(byte[] bytes);

    protected static bool FileContains(string path, byte[] needle) =>
        File.Exists(path) && File.ReadAllBytes(path).AsSpan().IndexOf(needle) >= 0;

    private static List<string> ChDbFilesHolding(string directory, string text)
    {
        var needle = Encoding.UTF8.GetBytes(text);
        var found = new List<string>();
        foreach (var file in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
        {
            try
            {
                if (FileContains(file, needle))
                    found.Add(file);
            }
            catch (IOException)
            {
                // A part being removed while we read it: it holds nothing any more.
            }
        }
        return found;
    }
}
