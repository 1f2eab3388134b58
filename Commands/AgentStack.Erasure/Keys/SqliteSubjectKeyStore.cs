using System.Security.Cryptography;
using Microsoft.Data.Sqlite;

namespace AgentStack.Erasure.Keys;

/// <summary>
/// Payload keys in the embedded default: <c>keys.db</c> in the data directory, a file apart from the log
/// (docs/privacy.md). <c>secure_delete</c> overwrites a destroyed key's bytes in its page; after the
/// delete, VACUUM rewrites the file and a truncating WAL checkpoint empties the write-ahead log, so no
/// copy of the key is left in <c>keys.db</c>, <c>keys.db-wal</c> or <c>keys.db-shm</c>.
/// </summary>
public sealed class SqliteSubjectKeyStore : ISubjectKeyStore
{
    private readonly string connectionString;
    private readonly KeyWrapping wrapping;
    private readonly Lock destroyLock = new();

    public SqliteSubjectKeyStore(string databasePath, KeyWrapping wrapping)
    {
        this.wrapping = wrapping;
        connectionString = new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = true }.ToString();
        using var connection = Open();
        Execute(connection, """
            PRAGMA journal_mode=WAL;
            PRAGMA secure_delete=ON;
            CREATE TABLE IF NOT EXISTS payload_keys (
                id TEXT PRIMARY KEY,
                project TEXT NOT NULL,
                subject_hash TEXT NOT NULL,
                day INTEGER NOT NULL,
                key BLOB NOT NULL,
                UNIQUE (project, subject_hash, day));
            CREATE TABLE IF NOT EXISTS project_secrets (
                project TEXT PRIMARY KEY,
                secret BLOB NOT NULL);
            """);
    }

    public SubjectKey GetOrCreate(string project, string subjectHash, int day)
    {
        using var connection = Open();
        using (var insert = connection.CreateCommand())
        {
            // Two writers creating the same key: the first insert wins and both read it back.
            insert.CommandText = """
                INSERT INTO payload_keys (id, project, subject_hash, day, key) VALUES ($id, $project, $subject, $day, $key)
                ON CONFLICT (project, subject_hash, day) DO NOTHING
                """;
            insert.Parameters.AddWithValue("$id", KeyWrapping.NewKeyId());
            insert.Parameters.AddWithValue("$project", project);
            insert.Parameters.AddWithValue("$subject", subjectHash);
            insert.Parameters.AddWithValue("$day", day);
            insert.Parameters.AddWithValue("$key", wrapping.Wrap(RandomNumberGenerator.GetBytes(32)));
            insert.ExecuteNonQuery();
        }
        using var select = connection.CreateCommand();
        select.CommandText = "SELECT id, key FROM payload_keys WHERE project = $project AND subject_hash = $subject AND day = $day";
        select.Parameters.AddWithValue("$project", project);
        select.Parameters.AddWithValue("$subject", subjectHash);
        select.Parameters.AddWithValue("$day", day);
        using var reader = select.ExecuteReader();
        reader.Read();
        return new SubjectKey(reader.GetString(0), wrapping.Unwrap((byte[])reader[1]));
    }

    public byte[]? Find(string keyId)
    {
        using var connection = Open();
        using var select = connection.CreateCommand();
        select.CommandText = "SELECT key FROM payload_keys WHERE id = $id";
        select.Parameters.AddWithValue("$id", keyId);
        return select.ExecuteScalar() is byte[] stored ? wrapping.Unwrap(stored) : null;
    }

    public IReadOnlyList<string> Destroy(string project, string subjectHash) =>
        DestroyWhere("project = $project AND subject_hash = $subject", p =>
        {
            p.AddWithValue("$project", project);
            p.AddWithValue("$subject", subjectHash);
        });

    public IReadOnlyList<string> DestroyBefore(string project, int day) =>
        DestroyWhere("project = $project AND day > 0 AND day < $day", p =>
        {
            p.AddWithValue("$project", project);
            p.AddWithValue("$day", day);
        });

    public byte[] ProjectSecret(string project)
    {
        using var connection = Open();
        using (var insert = connection.CreateCommand())
        {
            insert.CommandText = "INSERT INTO project_secrets (project, secret) VALUES ($project, $secret) ON CONFLICT (project) DO NOTHING";
            insert.Parameters.AddWithValue("$project", project);
            insert.Parameters.AddWithValue("$secret", wrapping.Wrap(RandomNumberGenerator.GetBytes(32)));
            insert.ExecuteNonQuery();
        }
        using var select = connection.CreateCommand();
        select.CommandText = "SELECT secret FROM project_secrets WHERE project = $project";
        select.Parameters.AddWithValue("$project", project);
        return wrapping.Unwrap((byte[])select.ExecuteScalar()!);
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "the WHERE fragment is a constant of this class; its values are bound as parameters")]
    private List<string> DestroyWhere(string where, Action<SqliteParameterCollection> parameters)
    {
        // One destruction at a time: VACUUM and the checkpoint need the file to themselves.
        lock (destroyLock)
        {
            var ids = new List<string>();
            using var connection = Open();
            using (var transaction = connection.BeginTransaction())
            {
                using (var select = connection.CreateCommand())
                {
                    select.CommandText = $"SELECT id FROM payload_keys WHERE {where}";
                    parameters(select.Parameters);
                    using var reader = select.ExecuteReader();
                    while (reader.Read())
                        ids.Add(reader.GetString(0));
                }
                using (var delete = connection.CreateCommand())
                {
                    delete.CommandText = $"DELETE FROM payload_keys WHERE {where}";
                    parameters(delete.Parameters);
                    delete.ExecuteNonQuery();
                }
                transaction.Commit();
            }
            if (ids.Count > 0)
                Scrub(connection);
            return ids;
        }
    }

    /// <summary>
    /// Leaves no copy of deleted keys in the files: VACUUM rebuilds the database without free pages, then
    /// a truncating checkpoint copies the WAL back and cuts it to zero bytes. A reader in another pooled
    /// connection can keep the checkpoint from finishing; it is retried until it does.
    /// </summary>
    private static void Scrub(SqliteConnection connection)
    {
        Execute(connection, "VACUUM");
        for (var attempt = 0; ; attempt++)
        {
            using var checkpoint = connection.CreateCommand();
            checkpoint.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
            using var reader = checkpoint.ExecuteReader();
            reader.Read();
            var busy = reader.GetInt64(0) != 0;
            if (!busy)
                return;
            if (attempt >= 50)
                throw new InvalidOperationException("The key store's write-ahead log could not be truncated after erasure: a reader held it for 5 s.");
            Thread.Sleep(100);
        }
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(connectionString);
        connection.Open();
        // Per connection: a deleted row's bytes are overwritten with zeros, not just unlinked.
        Execute(connection, "PRAGMA secure_delete=ON");
        return connection;
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "schema statements that are constants of this class; no value from a request")]
    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
