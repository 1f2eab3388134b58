using System.Text;
using System.Text.Json;
using AgentStack.Erasure.Keys;
using AgentStack.Erasure.Sealing;
using AgentStack.Events;
using BenchmarkDotNet.Attributes;

namespace AgentStack.Erasure.Benchmarks;

/// <summary>
/// Sealing one span event as the decorator does on append, and opening it as on every read, against the
/// work every append does anyway (serialising the event, hashing it into the chain). The event is a
/// completed LLM span with GenAI messages of about 330 bytes each way and a few attributes, as the load
/// harness sends; keys come from a real SQLite key store, cached after the first span as in the server.
/// </summary>
[MemoryDiagnoser]
public class SealingSpans
{
    private string directory = "";
    private PayloadSealer sealer = null!;
    private SpanCompleted @event = null!;
    private byte[] plain = [];
    private byte[] sealedBytes = [];

    [GlobalSetup]
    public void Setup()
    {
        directory = Path.Combine(Path.GetTempPath(), "agentstack-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        sealer = new PayloadSealer(new SubjectKeyring(new SqliteSubjectKeyStore(Path.Combine(directory, "keys.db"), KeyWrapping.None),
            TimeSpan.FromMinutes(10)));
        var text = new string('x', 280);
        var start = new DateTimeOffset(2026, 12, 3, 10, 0, 0, TimeSpan.Zero);
        var span = new SpanRecord("trace-0001", "span-0001", "root", "chat gpt-4o", "llm", start, start.AddSeconds(1), "ok", null,
            "gpt-4o", "openai", 412, 57, 0.0016m,
            Json($$"""{"messages":[{"role":"system","content":"You are helpful."},{"role":"user","content":"{{text}}"}]}"""),
            Json($$"""{"role":"assistant","content":"{{text}}"}"""),
            Json("""{"user.id":"user-42","session.id":"session-7","gen_ai.system":"openai","server.address":"api.example.test"}"""));
        @event = new SpanCompleted("default", span, new string('a', 64), start, "key-1");
        plain = EventTypes.Serialize(@event).Data;
        sealedBytes = sealer.Seal(plain);
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(directory, recursive: true);

    private static JsonElement Json(string text) => JsonDocument.Parse(Encoding.UTF8.GetBytes(text)).RootElement.Clone();

    [Benchmark(Baseline = true, Description = "serialise + chain hash (every append does this)")]
    public string SerialiseAndHash()
    {
        var data = EventTypes.Serialize(@event).Data;
        return EventHash.Compute(EventHash.Genesis, "trace-default-trace-0001", 1, EventTypes.SpanCompleted, @event.ReceivedAt, data);
    }

    [Benchmark(Description = "seal (append)")]
    public byte[] Seal() => sealer.Seal(plain);

    [Benchmark(Description = "open (every read)")]
    public byte[] Open() => sealer.Open(sealedBytes);
}
