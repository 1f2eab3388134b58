using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentStack.Erasure.Keys;
using AgentStack.Erasure.Sealing;
using AgentStack.Events;

namespace AgentStack.EventStore.Tests.Erasure;

/// <summary>
/// Issue 14: the sealing decorator over the real SQLite event store and the real SQLite key store. Payloads
/// are stored sealed, read back byte for byte, and read erased once their subject's keys are destroyed,
/// while the chain over the stored bytes still verifies.
/// </summary>
public sealed class when_span_payloads_are_sealed : IClassFixture<SqliteDatabaseFolder<when_span_payloads_are_sealed>>
{
    private readonly SqliteDatabaseFolder<when_span_payloads_are_sealed> folder;

    public when_span_payloads_are_sealed(SqliteDatabaseFolder<when_span_payloads_are_sealed> folder) => this.folder = folder;

    private static EventData SpanEvent(string spanId, string? attributes, string input = """{"q": "é \u00e9 \"quoted\""}""") =>
        SealedLogs.SpanEvent(spanId, input, "\"yes\"", attributes);

    private (SealingEventStore Store, IEventStore Raw, SubjectKeyring Keys) Open(string name) => SealedLogs.Open(folder.Path, name);

    [Fact]
    public async Task then_readers_get_the_bytes_as_received_and_the_store_holds_none_of_them()
    {
        var (store, raw, _) = Open("roundtrip");
        var events = new[] { SpanEvent("a", """{"user.id":"u-1","k":[1,2]}"""), SpanEvent("b", null) };
        await store.AppendAsync("trace-p1-t1", StreamAppend.NoStream, events, TestContext.Current.CancellationToken);

        var opened = await store.ReadStreamAsync("trace-p1-t1", 1, TestContext.Current.CancellationToken).ToListAsync(TestContext.Current.CancellationToken);
        opened.Select(e => Convert.ToHexString(e.Data)).ShouldBe(events.Select(e => Convert.ToHexString(e.Data)));
        (await store.ReadAllAsync(0, 10, TestContext.Current.CancellationToken)).Select(e => Convert.ToHexString(e.Data))
            .ShouldBe(events.Select(e => Convert.ToHexString(e.Data)));

        var stored = await raw.ReadAllAsync(0, 10, TestContext.Current.CancellationToken);
        var text = string.Concat(stored.Select(e => Encoding.UTF8.GetString(e.Data)));
        text.ShouldNotContain("quoted");
        text.ShouldNotContain("u-1");
        text.ShouldNotContain(new string('c', 64));
        var first = JsonNode.Parse(stored[0].Data)!;
        first["span"]!["input"]!["sealed"]!.GetValue<string>().ShouldBe("v2");
        first["contentHash"]!["sealed"]!.GetValue<string>().ShouldBe("v2");
        first["span"]!["name"]!.GetValue<string>().ShouldBe("step");
        EventHash.Verify(stored).ShouldBeNull();
    }

    [Fact]
    public async Task then_erasing_a_subject_erases_only_its_payloads_and_the_chain_still_verifies()
    {
        var (store, raw, keys) = Open("erasing");
        await store.AppendAsync("trace-p1-t1", StreamAppend.NoStream,
            [SpanEvent("alice", """{"user.id":"alice"}"""), SpanEvent("bob", """{"agentstack.subject":"bob","user.id":"alice"}"""),
             SpanEvent("nobody", """{"k":"v"}""")], TestContext.Current.CancellationToken);
        var keyIds = (await raw.ReadAllAsync(0, 10, TestContext.Current.CancellationToken))
            .Select(e => JsonNode.Parse(e.Data)!["span"]!["input"]!["key"]!.GetValue<string>()).ToList();
        keyIds.Distinct().Count().ShouldBe(3); // alice, bob (agentstack.subject wins over user.id), the project key

        keys.Erase("p1", "alice").ShouldBe(new[] { keyIds[0] });

        var read = await store.ReadStreamAsync("trace-p1-t1", 1, TestContext.Current.CancellationToken).ToListAsync(TestContext.Current.CancellationToken);
        var alice = JsonNode.Parse(read[0].Data)!;
        alice["span"]!["input"]!.ToJsonString().ShouldBe("""{"erased":true}""");
        alice["span"]!["output"]!.ToJsonString().ShouldBe("""{"erased":true}""");
        alice["span"]!["attributes"]!.ToJsonString().ShouldBe("""{"erased":true}""");
        alice["contentHash"]!.GetValue<string>().ShouldBe("erased");
        EventTypes.Deserialize(read[0].Type, read[0].Data).ShouldBeOfType<SpanCompleted>().Span.Name.ShouldBe("step");
        read[1].Data.ShouldBe(SpanEvent("bob", """{"agentstack.subject":"bob","user.id":"alice"}""").Data);
        read[2].Data.ShouldBe(SpanEvent("nobody", """{"k":"v"}""").Data);
        EventHash.Verify(await raw.ReadStreamAsync("trace-p1-t1", 1, TestContext.Current.CancellationToken).ToListAsync(TestContext.Current.CancellationToken)).ShouldBeNull();

        // A fresh keyring (another process, a restart) finds the key gone too.
        var fresh = new PayloadSealer(new SubjectKeyring(keys.Store, TimeSpan.FromMinutes(1)));
        var stored = (await raw.ReadAllAsync(0, 1, TestContext.Current.CancellationToken))[0];
        Encoding.UTF8.GetString(new SealedEventPresenter(fresh).Present(stored)).ShouldContain("\"input\":{\"erased\":true}");
    }

    /// <summary>Readers of the log share recently opened events (<see cref="OpenedEvents"/>): an erasure must empty that at once.</summary>
    [Fact]
    public async Task then_readers_of_the_log_see_an_erasure_at_once_though_they_read_the_events_before()
    {
        var (store, _, keys) = Open("shared-reads");
        await store.AppendAsync("trace-p1-t1", StreamAppend.NoStream,
            [SpanEvent("alice", """{"user.id":"alice"}"""), SpanEvent("bob", """{"user.id":"bob"}""")], TestContext.Current.CancellationToken);
        var before = await store.ReadAllAsync(0, 10, TestContext.Current.CancellationToken);
        Encoding.UTF8.GetString(before[0].Data).ShouldContain("quoted");
        (await store.ReadAllAsync(0, 10, TestContext.Current.CancellationToken)).Select(e => e.Data).ShouldBe(before.Select(e => e.Data));

        keys.Erase("p1", "alice");

        var after = await store.ReadAllAsync(0, 10, TestContext.Current.CancellationToken);
        JsonNode.Parse(after[0].Data)!["span"]!["input"]!.ToJsonString().ShouldBe("""{"erased":true}""");
        Encoding.UTF8.GetString(after[1].Data).ShouldContain("quoted");
    }

    /// <summary>In the distributed topology another process erases: this one's shared reads last no longer than its key cache.</summary>
    [Fact]
    public async Task then_an_erasure_in_another_process_reaches_readers_within_the_key_cache_lifetime()
    {
        var keyStore = Path.Combine(folder.Path, "two-processes-keys.db");
        var here = new SubjectKeyring(new SqliteSubjectKeyStore(keyStore, KeyWrapping.None), TimeSpan.FromMilliseconds(300));
        var there = new SubjectKeyring(new SqliteSubjectKeyStore(keyStore, KeyWrapping.None), TimeSpan.FromMilliseconds(300));
        var store = new SealingEventStore(new AgentStack.EventStore.Sqlite.SqliteEventStore(
            new AgentStack.EventStore.Sqlite.SqliteEventStoreOptions(Path.Combine(folder.Path, "two-processes-events.db")), TimeProvider.System),
            new PayloadSealer(here));
        await store.AppendAsync("trace-p1-t1", StreamAppend.NoStream, [SpanEvent("alice", """{"user.id":"alice"}""")], TestContext.Current.CancellationToken);
        Encoding.UTF8.GetString((await store.ReadAllAsync(0, 10, TestContext.Current.CancellationToken))[0].Data).ShouldContain("quoted");

        there.Erase("p1", "alice").ShouldHaveSingleItem();

        await AgentStack.Testing.Eventually.UntilAsync(async () =>
            !Encoding.UTF8.GetString((await store.ReadAllAsync(0, 10, TestContext.Current.CancellationToken))[0].Data).Contains("quoted", StringComparison.Ordinal),
            TimeSpan.FromSeconds(10));
        JsonNode.Parse((await store.ReadAllAsync(0, 10, TestContext.Current.CancellationToken))[0].Data)!["span"]!["input"]!.ToJsonString()
            .ShouldBe("""{"erased":true}""");
    }

    [Fact]
    public async Task then_an_altered_ciphertext_is_an_error_not_an_erasure()
    {
        var (store, raw, keys) = Open("tampered");
        await store.AppendAsync("trace-p1-t1", StreamAppend.NoStream, [SpanEvent("a", null)], TestContext.Current.CancellationToken);
        var stored = (await raw.ReadAllAsync(0, 1, TestContext.Current.CancellationToken))[0];
        var sealer = new PayloadSealer(keys);
        Encoding.UTF8.GetString(sealer.Open(Altered(stored, _ => { }))).ShouldContain("quoted"); // the rewriting alone alters nothing

        Should.Throw<InvalidDataException>(() => sealer.Open(Altered(stored, node =>
        {
            var data = Convert.FromBase64String(node["span"]!["input"]!["data"]!.GetValue<string>());
            data[^1] ^= 1;
            node["span"]!["input"]!["data"] = Convert.ToBase64String(data);
        }))).Message.ShouldContain("do not authenticate");
    }

    /// <summary>
    /// An event's fields are encrypted in one operation (v2): the first envelope holds the nonce and the tag, each
    /// holds its field's share, and the tag covers which field holds which share, so shares cannot be moved or dropped.
    /// </summary>
    [Fact]
    public async Task then_an_event_is_sealed_at_once_and_its_shares_cannot_be_moved_or_dropped()
    {
        var (store, raw, keys) = Open("shares");
        await store.AppendAsync("trace-p1-t1", StreamAppend.NoStream, [SpanEvent("a", """{"k":"v"}""")], TestContext.Current.CancellationToken);
        var stored = (await raw.ReadAllAsync(0, 1, TestContext.Current.CancellationToken))[0];
        var opened = (await store.ReadAllAsync(0, 1, TestContext.Current.CancellationToken))[0];
        var span = JsonDocument.Parse(opened.Data).RootElement.GetProperty("span");
        var node = JsonNode.Parse(stored.Data)!;
        int Share(JsonNode envelope) => Convert.FromBase64String(envelope["data"]!.GetValue<string>()).Length;
        Share(node["span"]!["input"]!).ShouldBe(12 + 16 + Encoding.UTF8.GetByteCount(span.GetProperty("input").GetRawText()));
        Share(node["span"]!["output"]!).ShouldBe(Encoding.UTF8.GetByteCount(span.GetProperty("output").GetRawText()));
        Share(node["span"]!["attributes"]!).ShouldBe(Encoding.UTF8.GetByteCount(span.GetProperty("attributes").GetRawText()));
        node["contentHash"]!["key"]!.GetValue<string>().ShouldBe(node["span"]!["input"]!["key"]!.GetValue<string>());

        var sealer = new PayloadSealer(keys);
        Should.Throw<InvalidDataException>(() => sealer.Open(Altered(stored, n =>
        {
            var output = n["span"]!["output"]!["data"]!.GetValue<string>();
            n["span"]!["output"]!["data"] = n["span"]!["attributes"]!["data"]!.GetValue<string>();
            n["span"]!["attributes"]!["data"] = output;
        })));
        Should.Throw<InvalidDataException>(() => sealer.Open(Altered(stored, n =>
        {
            // The same ciphertext in the same order, three bytes of it moved from input's share to output's.
            var input = Convert.FromBase64String(n["span"]!["input"]!["data"]!.GetValue<string>());
            var output = Convert.FromBase64String(n["span"]!["output"]!["data"]!.GetValue<string>());
            n["span"]!["input"]!["data"] = Convert.ToBase64String(input[..^3]);
            n["span"]!["output"]!["data"] = Convert.ToBase64String([.. input[^3..], .. output]);
        })));
        Should.Throw<InvalidDataException>(() => sealer.Open(Altered(stored, n => n["span"]!["attributes"] = new JsonObject { ["k"] = "v" })));
        Should.Throw<InvalidDataException>(() => sealer.Open(Altered(stored, n => n["span"]!["output"]!["key"] = "another")));
    }

    /// <summary>Logs sealed by the first format (v1: each field encrypted alone) still open, and still erase.</summary>
    [Fact]
    public async Task then_events_sealed_in_the_first_format_still_open_and_erase()
    {
        var (store, raw, keys) = Open("first-format");
        var plain = SpanEvent("alice", """{"user.id":"alice"}""");
        var key = keys.ForSealing("p1", "alice", 20261201);
        await raw.AppendAsync("trace-p1-t1", StreamAppend.NoStream, [new EventData(plain.Type, SealedLogs.SealFirstFormat(plain.Data, key))],
            TestContext.Current.CancellationToken);
        Encoding.UTF8.GetString((await raw.ReadAllAsync(0, 1, TestContext.Current.CancellationToken))[0].Data).ShouldNotContain("quoted");

        (await store.ReadAllAsync(0, 1, TestContext.Current.CancellationToken))[0].Data.ShouldBe(plain.Data);

        keys.Erase("p1", "alice");
        var erased = JsonNode.Parse((await store.ReadStreamAsync("trace-p1-t1", 1, TestContext.Current.CancellationToken)
            .ToListAsync(TestContext.Current.CancellationToken))[0].Data)!;
        erased["span"]!["input"]!.ToJsonString().ShouldBe("""{"erased":true}""");
        erased["contentHash"]!.GetValue<string>().ShouldBe("erased");
    }

    /// <summary>The stored event rewritten after <paramref name="change"/>, with no escaping the original lacks (base64's '+' stays '+').</summary>
    private static byte[] Altered(StoredEvent stored, Action<JsonNode> change)
    {
        var node = JsonNode.Parse(stored.Data)!;
        change(node);
        return Encoding.UTF8.GetBytes(node.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
    }

    [Fact]
    public void then_a_master_key_wraps_the_stored_keys()
    {
        var master = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var path = Path.Combine(folder.Path, "wrapped-keys.db");
        var store = new SqliteSubjectKeyStore(path, KeyWrapping.FromBase64(master));
        var key = store.GetOrCreate("p1", "subject-hash", 20261201);
        store.Find(key.KeyId).ShouldBe(key.Key);
        new SqliteSubjectKeyStore(path, KeyWrapping.None).Find(key.KeyId)!.ShouldNotBe(key.Key);
        Should.Throw<InvalidOperationException>(() => new SqliteSubjectKeyStore(path,
            KeyWrapping.FromBase64(Convert.ToBase64String(new byte[32]))).Find(key.KeyId));
        Should.Throw<InvalidOperationException>(() => KeyWrapping.FromBase64("c2hvcnQ="));
    }

    [Fact]
    public void then_retention_destroys_the_keys_of_days_before_a_day()
    {
        var store = new SqliteSubjectKeyStore(Path.Combine(folder.Path, "retention-keys.db"), KeyWrapping.None);
        var old = store.GetOrCreate("p1", "", 20261101);
        var kept = store.GetOrCreate("p1", "", 20261201);
        var other = store.GetOrCreate("p2", "", 20261101);
        var oldSubject = store.GetOrCreate("p1", "h-carol", 20261102);
        var undated = store.GetOrCreate("p1", "", 0); // a start that was no date: no age, kept
        store.DestroyBefore("p1", 20261130).Order().ShouldBe(new[] { old.KeyId, oldSubject.KeyId }.Order());
        store.Find(old.KeyId).ShouldBeNull();
        store.Find(oldSubject.KeyId).ShouldBeNull();
        store.Find(undated.KeyId).ShouldBe(undated.Key);
        store.Find(kept.KeyId).ShouldBe(kept.Key);
        store.Find(other.KeyId).ShouldBe(other.Key);
    }
}
