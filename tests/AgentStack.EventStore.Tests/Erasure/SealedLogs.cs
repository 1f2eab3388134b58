using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AgentStack.Erasure.Keys;
using AgentStack.Erasure.Sealing;
using AgentStack.EventStore.Sqlite;
using AgentStack.Events;

namespace AgentStack.EventStore.Tests.Erasure;

/// <summary>
/// The sealing decorator over the real SQLite event store and the real SQLite key store, in a test's folder, and the
/// span events the erasure tests append to it.
/// </summary>
internal static class SealedLogs
{
    public static readonly DateTimeOffset Start = new(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);

    /// <param name="between">A decorator between the sealing store and SQLite (a read counter), if any.</param>
    public static (SealingEventStore Store, SqliteEventStore Raw, SubjectKeyring Keys) Open(string folder, string name,
        Func<IEventStore, IEventStore>? between = null)
    {
        var keys = new SubjectKeyring(new SqliteSubjectKeyStore(Path.Combine(folder, name + "-keys.db"), KeyWrapping.None), TimeSpan.FromMinutes(1));
        var raw = new SqliteEventStore(new SqliteEventStoreOptions(Path.Combine(folder, name + "-events.db")), TimeProvider.System);
        return (new SealingEventStore(between is null ? raw : between(raw), new PayloadSealer(keys)), raw, keys);
    }

    /// <summary>A completed span of trace <c>t1</c> in project <c>p1</c>, with these payloads (JSON texts).</summary>
    public static EventData SpanEvent(string spanId, string input, string output, string? attributes) =>
        EventTypes.Serialize(new SpanCompleted("p1",
            new SpanRecord("t1", spanId, null, "step", "llm", Start, Start.AddSeconds(1), "ok", null, null, null, 1, 2, null,
                Json(input), Json(output), attributes is null ? null : Json(attributes)),
            new string('c', 64), Start, "key-1"));

    /// <summary>
    /// The event sealed as the first format did ("v1" in docs/privacy.md, "How payloads are stored"), written here from its description: each of
    /// input, output, attributes and contentHash alone, <c>nonce ‖ AES-256-GCM ciphertext ‖ tag</c> with the field's name
    /// as associated data, the nonce's last byte differing per field by the field's number in its top two bits.
    /// </summary>
    public static byte[] SealFirstFormat(byte[] data, SubjectKey key)
    {
        var text = Encoding.UTF8.GetString(data);
        var root = JsonDocument.Parse(data).RootElement;
        var span = root.GetProperty("span");
        var nonce = RandomNumberGenerator.GetBytes(12);
        using var aes = new AesGcm(key.Key, 16);
        string[] names = ["input", "output", "attributes", "contentHash"];
        for (var field = 0; field < names.Length; field++)
        {
            var value = (field == 3 ? root : span).GetProperty(names[field]).GetRawText();
            var plaintext = Encoding.UTF8.GetBytes(value);
            var sealedBytes = new byte[12 + plaintext.Length + 16];
            nonce.CopyTo(sealedBytes, 0);
            sealedBytes[11] ^= (byte)(field << 6);
            aes.Encrypt(sealedBytes.AsSpan(0, 12), plaintext, sealedBytes.AsSpan(12, plaintext.Length), sealedBytes.AsSpan(12 + plaintext.Length),
                Encoding.UTF8.GetBytes(names[field]));
            var property = $"\"{names[field]}\":{value}";
            text.Split(property).Length.ShouldBe(2); // the field's text occurs once
            text = text.Replace(property, $"\"{names[field]}\":{{\"sealed\":\"v1\",\"key\":\"{key.KeyId}\",\"data\":\"{Convert.ToBase64String(sealedBytes)}\"}}");
        }
        return Encoding.UTF8.GetBytes(text);
    }

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();
}
