using System.Security.Cryptography;
using AgentStack.Events;
using Npgsql;

namespace AgentStack.Erasure.Keys;

/// <summary>
/// Payload keys of the distributed topology: tables <c>payload_keys</c> and <c>project_secrets</c> in a
/// PostgreSQL schema shared by every host (the event store's schema by default), apart from the event
/// tables. Destroying deletes the rows, waits for the transactions of other sessions that could still see them to
/// end (at most <see cref="SnapshotWait"/>), and then runs <c>VACUUM FULL</c> on the table, which writes a new
/// table file without them and removes the old one. PostgreSQL's WAL and base backups made before the erasure
/// still hold the key until they are recycled (docs/privacy.md).
/// </summary>
public sealed class PostgresSubjectKeyStore : ISubjectKeyStore, IDisposable
{
    private readonly NpgsqlDataSource dataSource;
    private readonly KeyWrapping wrapping;
    private readonly string keys;
    private readonly string secrets;

    public PostgresSubjectKeyStore(string connectionString, string schema, KeyWrapping wrapping)
    {
        if (PostgresIdentifier.Refusal(schema) is { } refusal)
            throw new ArgumentException($"Schema '{schema}' {refusal}.", nameof(schema));
        this.wrapping = wrapping;
        dataSource = NpgsqlDataSource.Create(connectionString);
        keys = $"{schema}.payload_keys";
        secrets = $"{schema}.project_secrets";
        using var connection = dataSource.OpenConnection();
        // Hosts starting together: the advisory lock serialises the DDL (as the Marten stores do for theirs).
        Execute(connection, $"SELECT pg_advisory_lock(hashtext('agentstack-schema:{schema}'))");
        try
        {
            Execute(connection, $"""
                CREATE SCHEMA IF NOT EXISTS {schema};
                CREATE TABLE IF NOT EXISTS {keys} (
                    id text PRIMARY KEY,
                    project text NOT NULL,
                    subject_hash text NOT NULL,
                    day integer NOT NULL,
                    key bytea NOT NULL,
                    UNIQUE (project, subject_hash, day));
                CREATE TABLE IF NOT EXISTS {secrets} (
                    project text PRIMARY KEY,
                    secret bytea NOT NULL);
                """);
        }
        finally
        {
            Execute(connection, $"SELECT pg_advisory_unlock(hashtext('agentstack-schema:{schema}'))");
        }
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "the SQL names only tables of a schema validated as an identifier (PostgresIdentifier); every value is a parameter")]
    public SubjectKey GetOrCreate(string project, string subjectHash, int day)
    {
        using var connection = dataSource.OpenConnection();
        using (var insert = new NpgsqlCommand(
            $"INSERT INTO {keys} (id, project, subject_hash, day, key) VALUES (@id, @project, @subject, @day, @key) ON CONFLICT (project, subject_hash, day) DO NOTHING",
            connection))
        {
            insert.Parameters.AddWithValue("id", KeyWrapping.NewKeyId());
            insert.Parameters.AddWithValue("project", project);
            insert.Parameters.AddWithValue("subject", subjectHash);
            insert.Parameters.AddWithValue("day", day);
            insert.Parameters.AddWithValue("key", wrapping.Wrap(RandomNumberGenerator.GetBytes(32)));
            insert.ExecuteNonQuery();
        }
        using var select = new NpgsqlCommand($"SELECT id, key FROM {keys} WHERE project = @project AND subject_hash = @subject AND day = @day", connection);
        select.Parameters.AddWithValue("project", project);
        select.Parameters.AddWithValue("subject", subjectHash);
        select.Parameters.AddWithValue("day", day);
        using var reader = select.ExecuteReader();
        reader.Read();
        return new SubjectKey(reader.GetString(0), wrapping.Unwrap((byte[])reader[1]));
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "the SQL names only tables of a schema validated as an identifier (PostgresIdentifier); every value is a parameter")]
    public byte[]? Find(string keyId)
    {
        using var connection = dataSource.OpenConnection();
        using var select = new NpgsqlCommand($"SELECT key FROM {keys} WHERE id = @id", connection);
        select.Parameters.AddWithValue("id", keyId);
        return select.ExecuteScalar() is byte[] stored ? wrapping.Unwrap(stored) : null;
    }

    public IReadOnlyList<string> Destroy(string project, string subjectHash) =>
        DestroyWhere("project = @project AND subject_hash = @subject", p =>
        {
            p.AddWithValue("project", project);
            p.AddWithValue("subject", subjectHash);
        });

    public IReadOnlyList<string> DestroyBefore(string project, int day) =>
        DestroyWhere("project = @project AND day > 0 AND day < @day", p =>
        {
            p.AddWithValue("project", project);
            p.AddWithValue("day", day);
        });

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "the SQL names only tables of a schema validated as an identifier (PostgresIdentifier); every value is a parameter")]
    public byte[] ProjectSecret(string project)
    {
        using var connection = dataSource.OpenConnection();
        using (var insert = new NpgsqlCommand(
            $"INSERT INTO {secrets} (project, secret) VALUES (@project, @secret) ON CONFLICT (project) DO NOTHING", connection))
        {
            insert.Parameters.AddWithValue("project", project);
            insert.Parameters.AddWithValue("secret", wrapping.Wrap(RandomNumberGenerator.GetBytes(32)));
            insert.ExecuteNonQuery();
        }
        using var select = new NpgsqlCommand($"SELECT secret FROM {secrets} WHERE project = @project", connection);
        select.Parameters.AddWithValue("project", project);
        return wrapping.Unwrap((byte[])select.ExecuteScalar()!);
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "the SQL names only tables of a schema validated as an identifier (PostgresIdentifier); every value is a parameter; the WHERE fragment is a constant of this class")]
    private List<string> DestroyWhere(string where, Action<NpgsqlParameterCollection> parameters)
    {
        using var connection = dataSource.OpenConnection();
        var ids = new List<string>();
        string deletedBy;
        using (var transaction = connection.BeginTransaction())
        {
            using (var delete = new NpgsqlCommand($"DELETE FROM {keys} WHERE {where} RETURNING id", connection, transaction))
            {
                parameters(delete.Parameters);
                using var reader = delete.ExecuteReader();
                while (reader.Read())
                    ids.Add(reader.GetString(0));
            }
            using (var xid = new NpgsqlCommand("SELECT pg_current_xact_id()::xid::text", connection, transaction))
                deletedBy = (string)xid.ExecuteScalar()!;
            transaction.Commit();
        }
        if (ids.Count == 0)
            return ids;
        // A plain DELETE only marks the tuples dead; VACUUM FULL rewrites the table without them, but copies a dead tuple
        // that a snapshot older than the delete may still see. Such snapshots (another session's transaction in
        // progress) are waited for first, up to SnapshotWait.
        WaitForOlderSnapshots(connection, deletedBy);
        Execute(connection, $"VACUUM FULL {keys}");
        return ids;
    }

    /// <summary>How long a destruction waits for the transactions that began before it, in other sessions of the database, to end.</summary>
    public static readonly TimeSpan SnapshotWait = TimeSpan.FromSeconds(10);

    private static void WaitForOlderSnapshots(NpgsqlConnection connection, string deletedBy)
    {
        using var older = new NpgsqlCommand("""
            SELECT count(*) FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid()
              AND (age(backend_xmin) >= age(@xid::xid) OR age(backend_xid) >= age(@xid::xid))
            """, connection);
        older.Parameters.AddWithValue("xid", deletedBy);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while ((long)older.ExecuteScalar()! > 0 && waited.Elapsed < SnapshotWait)
            Thread.Sleep(50);
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "schema DDL and locks of this class over a schema validated as an identifier; no value from a request")]
    private static void Execute(NpgsqlConnection connection, string sql)
    {
        using var command = new NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }

    public void Dispose() => dataSource.Dispose();
}
