using AgentStack.Erasure.Keys;
using AgentStack.Events;
using AgentStack.EventStore.Sqlite;

namespace AgentStack.EndToEndTests.Erasure;

/// <summary>The embedded default: SQLite event log (events.db, WAL) and SQLite key store (keys.db), chDB.</summary>
public sealed class when_a_subject_is_erased : SubjectErasureScenario
{
    protected override Dictionary<string, string> Settings() => [];

    protected override ISubjectKeyStore OpenKeyStore() =>
        new SqliteSubjectKeyStore(Path.Combine(Server.DataDirectory, "keys.db"), KeyWrapping.None);

    protected override IEventStore OpenRawEventStore() =>
        new SqliteEventStore(new SqliteEventStoreOptions(Path.Combine(Server.DataDirectory, "events.db")), TimeProvider.System);

    protected override IEnumerable<string> EventStoreFiles() =>
        Directory.EnumerateFiles(Server.DataDirectory, "events.db*");

    protected override bool KeyStoreHolds(byte[] bytes) =>
        Directory.EnumerateFiles(Server.DataDirectory, "keys.db*").Any(f => FileContains(f, bytes));
}
