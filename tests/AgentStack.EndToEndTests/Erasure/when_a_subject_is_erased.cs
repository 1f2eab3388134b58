using AgentStack.Erasure.Keys;
using AgentStack.Events;
using AgentStack.EventStore.Sqlite;

namespace AgentStack.EndToEndTests.Erasure;

/// <summary>The embedded default: SQLite event log (events.db, WAL) and SQLite key store (keys.db), chDB.</summary>
public sealed class when_a_subject_is_erased(SubjectErasureRun<EmbeddedStores> run) : SubjectErasureScenario<EmbeddedStores>(run);

public sealed class EmbeddedStores : ErasureStores
{
    public override Dictionary<string, string> Settings() => [];

    public override ISubjectKeyStore OpenKeyStore(string dataDirectory) =>
        new SqliteSubjectKeyStore(Path.Combine(dataDirectory, "keys.db"), KeyWrapping.None);

    public override IEventStore OpenRawEventStore(string dataDirectory) =>
        new SqliteEventStore(new SqliteEventStoreOptions(Path.Combine(dataDirectory, "events.db")), TimeProvider.System);

    public override IEnumerable<string> EventStoreFiles(string dataDirectory) => Directory.EnumerateFiles(dataDirectory, "events.db*");

    public override bool KeyStoreHolds(string dataDirectory, byte[] bytes) =>
        Directory.EnumerateFiles(dataDirectory, "keys.db*").Any(f => FileContains(f, bytes));
}
