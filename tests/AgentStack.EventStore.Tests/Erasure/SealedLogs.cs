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

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();
}
