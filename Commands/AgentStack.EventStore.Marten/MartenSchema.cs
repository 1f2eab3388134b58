using AgentStack.Events;
using JasperFx;
using Marten;
using Npgsql;
using Weasel.Postgresql;
using Weasel.Postgresql.Tables;

namespace AgentStack.EventStore.Marten;

/// <summary>
/// The event log's tables, declared to a Marten <see cref="DocumentStore"/> as extended schema objects so
/// that Marten (Weasel) creates and migrates them beside the documents the distributed topology keeps in
/// the same schema, and Marten's own tooling (db-apply, db-patch) sees them.
/// </summary>
internal sealed class MartenSchema
{
    public const string EventsTable = "events";
    public const string LockTable = "event_log_lock";

    public MartenSchema(string schema)
    {
        if (PostgresIdentifier.Refusal(schema) is { } refusal)
            throw new ArgumentException($"Schema '{schema}' {refusal}.", nameof(schema));
        Name = schema;
        Events = $"{schema}.{EventsTable}";
        Lock = $"{schema}.{LockTable}";
        NotifyChannel = $"{schema}_events";
    }

    public string Name { get; }

    public string Events { get; }

    public string Lock { get; }

    /// <summary>LISTEN/NOTIFY channel on which every commit announces the log's new last position.</summary>
    public string NotifyChannel { get; }

    public DocumentStore CreateDocumentStore(string connectionString) => DocumentStore.For(options =>
    {
        options.Connection(connectionString);
        options.DatabaseSchemaName = Name;
        options.AutoCreateSchemaObjects = AutoCreate.CreateOrUpdate;

        // Positions are assigned by the appender under the log lock, not by a sequence: a sequence
        // leaves gaps on rollback and hands out numbers in an order commits need not follow.
        // data is bytea: the exact bytes appended (jsonb would reorder keys and drop whitespace).
        // UNIQUE(stream, version) backs optimistic concurrency and is the index the head lookup seeks.
        var events = new Table(new PostgresqlObjectName(Name, EventsTable, SchemaUtils.IdentifierUsage.General));
        events.AddColumn("position", "bigint").AsPrimaryKey();
        events.AddColumn("stream", "text").NotNull();
        events.AddColumn("version", "bigint").NotNull();
        events.AddColumn("type", "text").NotNull();
        events.AddColumn("recorded_at", "timestamptz").NotNull();
        events.AddColumn("data", "bytea").NotNull();
        events.AddColumn("hash", "text").NotNull();
        events.AddColumn("prev_hash", "text").NotNull();
        events.Indexes.Add(new IndexDefinition($"{EventsTable}_stream_version") { Columns = ["stream", "version"], IsUnique = true });
        options.Storage.ExtendedSchemaObjects.Add(events);

        // One row whose row lock serialises appends across every process (see MartenEventStore).
        var lockTable = new Table(new PostgresqlObjectName(Name, LockTable, SchemaUtils.IdentifierUsage.General));
        lockTable.AddColumn("id", "integer").AsPrimaryKey();
        options.Storage.ExtendedSchemaObjects.Add(lockTable);
    });

    /// <summary>
    /// What Weasel does not model: the lock row, and triggers that make the log append-only for any SQL
    /// run against the database, not only for this API (docs/architecture.md invariant 3). Idempotent.
    /// </summary>
    public string CompletionSql => $"""
        INSERT INTO {Lock} (id) VALUES (1) ON CONFLICT (id) DO NOTHING;
        CREATE OR REPLACE FUNCTION {Name}.events_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'events are append-only: % is not allowed', TG_OP;
        END
        $$;
        CREATE OR REPLACE TRIGGER events_are_never_updated_or_deleted BEFORE UPDATE OR DELETE ON {Events}
            FOR EACH ROW EXECUTE FUNCTION {Name}.events_are_append_only();
        CREATE OR REPLACE TRIGGER events_are_never_truncated BEFORE TRUNCATE ON {Events}
            FOR EACH STATEMENT EXECUTE FUNCTION {Name}.events_are_append_only();
        """;

    /// <summary>Creates or updates the schema; a session advisory lock keeps two starting processes from racing on the DDL.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "schema DDL of this class over the configured schema, validated as an identifier; no value from a request")]
    public async Task ApplyAsync(NpgsqlDataSource dataSource, string connectionString, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_lock(hashtext(@key))", connection))
        {
            lockCommand.Parameters.AddWithValue("key", $"agentstack-schema:{Name}");
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }
        try
        {
            await using (var store = CreateDocumentStore(connectionString))
            {
                await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
            }
            await using var complete = new NpgsqlCommand(CompletionSql, connection);
            await complete.ExecuteNonQueryAsync(cancellationToken);
        }
        finally
        {
            await using var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock(hashtext(@key))", connection);
            unlock.Parameters.AddWithValue("key", $"agentstack-schema:{Name}");
            await unlock.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }
}
