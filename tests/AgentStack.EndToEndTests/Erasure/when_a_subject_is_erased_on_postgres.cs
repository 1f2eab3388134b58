using AgentStack.EndToEndTests.Distributed;
using AgentStack.Erasure.Keys;
using AgentStack.Events;
using AgentStack.EventStore.Marten;
using Npgsql;

namespace AgentStack.EndToEndTests.Erasure;

/// <summary>
/// The distributed stores: the Marten event log and the key table in PostgreSQL (one fresh schema), chDB for
/// analytics. The key table's file on the PostgreSQL server is read back to show the key bytes are gone.
/// </summary>
public sealed class when_a_subject_is_erased_on_postgres(SubjectErasureRun<PostgresStores> run) : SubjectErasureScenario<PostgresStores>(run);

public sealed class PostgresStores : ErasureStores
{
    private readonly string schema = Postgres.NewSchema();

    public override Dictionary<string, string> Settings() => Postgres.EventStoreSettings(schema);

    public override ISubjectKeyStore OpenKeyStore(string dataDirectory) => new PostgresSubjectKeyStore(Postgres.ConnectionString, schema, KeyWrapping.None);

    public override IEventStore OpenRawEventStore(string dataDirectory) =>
        new MartenEventStore(new MartenEventStoreOptions(Postgres.ConnectionString, schema), TimeProvider.System);

    // The event rows live in the PostgreSQL server's files; the raw rows are checked through the adapter instead.
    public override IEnumerable<string> EventStoreFiles(string dataDirectory) => [];

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "test SQL over the test class's own schema name (generated, an identifier)")]
    public override bool KeyStoreHolds(string dataDirectory, byte[] bytes)
    {
        using var connection = new NpgsqlConnection(Postgres.ConnectionString);
        connection.Open();
        using (var checkpoint = new NpgsqlCommand("CHECKPOINT", connection))
            checkpoint.ExecuteNonQuery();
        using var command = new NpgsqlCommand(
            $"SELECT current_setting('data_directory') || '/' || pg_relation_filepath('{schema}.payload_keys')", connection);
        var file = (string)command.ExecuteScalar()!;
        using var rows = new NpgsqlCommand($"SELECT count(*) FROM {schema}.payload_keys WHERE key = @key", connection);
        rows.Parameters.AddWithValue("key", bytes);
        return (long)rows.ExecuteScalar()! > 0 || FileContains(file, bytes);
    }
}
