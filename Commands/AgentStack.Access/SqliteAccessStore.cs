using System.Globalization;
using Microsoft.Data.Sqlite;

namespace AgentStack.Access;

/// <summary>
/// Projects and their keys in the embedded default: a small SQLite file beside the event log.
/// Lookups are cached by <see cref="CachingAccessStore"/>, which every host puts in front of its store.
/// Secrets are stored as HMAC-SHA256 under <paramref name="pepper"/> (<see cref="SecretHasher"/>); without one,
/// under the pepper of the file <c>access.pepper</c> beside the database, created on first start.
/// </summary>
public sealed class SqliteAccessStore(string databasePath, TimeProvider clock, string? pepper = null) : IAccessStore
{
    private const string KeyColumns = "k.id, k.project, k.scopes, k.created_at, k.revoked_at, k.expires_at, k.prefix, k.secret_hash";
    private readonly string connectionString = new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = true }.ToString();
    private SecretHasher? hasher;

    private SecretHasher Hasher => hasher ?? throw new InvalidOperationException("InitializeAsync first.");

    public async Task InitializeAsync(CancellationToken ct)
    {
        if (hasher is not null)
            return;
        await using var connection = await OpenAsync(ct);
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = """
                PRAGMA journal_mode=WAL;
                CREATE TABLE IF NOT EXISTS projects (
                    id TEXT PRIMARY KEY,
                    created_at INTEGER NOT NULL);
                CREATE TABLE IF NOT EXISTS api_keys (
                    id TEXT PRIMARY KEY,
                    project TEXT NOT NULL REFERENCES projects(id),
                    secret_hash TEXT NOT NULL UNIQUE,
                    scopes TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    revoked_at INTEGER);
                CREATE INDEX IF NOT EXISTS api_keys_project ON api_keys (project);
                """;
            await command.ExecuteNonQueryAsync(ct);
        }
        // Columns added by issue 17, on databases created before it too.
        await AddColumnAsync(connection, "projects", "display_name", "TEXT", ct);
        await AddColumnAsync(connection, "projects", "archived_at", "INTEGER", ct);
        await AddColumnAsync(connection, "api_keys", "expires_at", "INTEGER", ct);
        await AddColumnAsync(connection, "api_keys", "prefix", "TEXT", ct);
        await AddColumnAsync(connection, "projects", "display_name_version", "INTEGER NOT NULL DEFAULT 0", ct);
        hasher = pepper is { Length: > 0 }
            ? SecretHasher.FromConfigured(pepper)
            : new SecretHasher(SecretHasher.LoadOrCreatePepperFile(
                Path.Combine(Path.GetDirectoryName(Path.GetFullPath(databasePath))!, "access.pepper")));
    }

    public async Task EnsureProjectAsync(string project, CancellationToken ct)
    {
        ProjectNames.ThrowIfInvalid(project);
        await TryCreateProjectAsync(project, ct);
    }

    public async Task<bool> TryCreateProjectAsync(string project, CancellationToken ct)
    {
        ProjectNames.ThrowIfInvalid(project);
        await using var connection = await OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "INSERT OR IGNORE INTO projects (id, created_at) VALUES ($id, $at)";
        command.Parameters.AddWithValue("$id", project);
        command.Parameters.AddWithValue("$at", clock.GetUtcNow().ToUnixTimeMilliseconds());
        return await command.ExecuteNonQueryAsync(ct) == 1;
    }

    public async Task<ApiKey> EnsureKeyAsync(string project, string secret, IReadOnlyList<string> scopes, DateTimeOffset? expiresAt,
        CancellationToken ct)
    {
        await InitializeAsync(ct);
        await EnsureProjectAsync(project, ct);
        var hash = Hasher.Hash(secret);
        await using var connection = await OpenAsync(ct);
        await using (var insert = connection.CreateCommand())
        {
            insert.CommandText = """
                INSERT INTO api_keys (id, project, secret_hash, scopes, created_at, expires_at, prefix)
                VALUES ($id, $project, $hash, $scopes, $at, $expires, $prefix)
                ON CONFLICT (secret_hash) DO NOTHING
                """;
            insert.Parameters.AddWithValue("$id", AccessStoreExtensions.KeyIdFor(hash));
            insert.Parameters.AddWithValue("$project", project);
            insert.Parameters.AddWithValue("$hash", hash);
            insert.Parameters.AddWithValue("$scopes", string.Join(' ', scopes));
            insert.Parameters.AddWithValue("$at", clock.GetUtcNow().ToUnixTimeMilliseconds());
            insert.Parameters.AddWithValue("$expires", expiresAt is { } e ? e.ToUnixTimeMilliseconds() : DBNull.Value);
            insert.Parameters.AddWithValue("$prefix", ApiKey.PrefixOf(secret));
            await insert.ExecuteNonQueryAsync(ct);
        }
        var stored = (await QueryKeysAsync(connection, "k.secret_hash = $hash", p => p.AddWithValue("$hash", hash), ct))
            .Select(k => k.Key).SingleOrDefault() ?? throw new InvalidOperationException("The key could not be stored.");
        return stored.RevokedAt is null
            ? stored
            : throw new InvalidOperationException($"Key {stored.KeyId} with this secret was revoked; a revoked secret is never restored. Choose a new secret.");
    }

    public async Task<bool> ExpireKeyAsync(string project, string keyId, DateTimeOffset at, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE api_keys SET expires_at = CASE WHEN expires_at IS NULL OR expires_at > $at THEN $at ELSE expires_at END
            WHERE id = $id AND project = $project
            """;
        command.Parameters.AddWithValue("$id", keyId);
        command.Parameters.AddWithValue("$project", project);
        command.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
        return await command.ExecuteNonQueryAsync(ct) == 1;
    }

    public async Task<bool> AnyKeysAsync(CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT EXISTS (SELECT 1 FROM api_keys WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $now))";
        command.Parameters.AddWithValue("$now", clock.GetUtcNow().ToUnixTimeMilliseconds());
        return Convert.ToInt64(await command.ExecuteScalarAsync(ct), CultureInfo.InvariantCulture) == 1;
    }

    public async Task<ApiKey?> FindBySecretAsync(string secret, CancellationToken ct)
    {
        await InitializeAsync(ct);
        var hash = Hasher.Hash(secret);
        // Keys stored before issue 17 carry an unkeyed SHA-256; they still match, and are re-hashed when they do.
        var legacy = ApiKey.HashSecret(secret);
        await using var connection = await OpenAsync(ct);
        var found = (await QueryKeysAsync(connection, "k.secret_hash IN ($hash, $legacy) AND p.archived_at IS NULL",
            p => { p.AddWithValue("$hash", hash); p.AddWithValue("$legacy", legacy); }, ct)).FirstOrDefault();
        if (found.Key is null)
            return null;
        if (SecretHasher.Matches(found.Hash, legacy))
            await RehashAsync(connection, found.Key.KeyId, hash, ct);
        else if (!SecretHasher.Matches(found.Hash, hash))
            return null;
        return found.Key.IsActiveAt(clock.GetUtcNow()) ? found.Key : null;
    }

    public async Task<IReadOnlyList<ApiKey>> ListKeysAsync(string project, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        return [.. (await QueryKeysAsync(connection, "k.project = $project ORDER BY k.created_at, k.id",
            p => p.AddWithValue("$project", project), ct)).Select(k => k.Key)];
    }

    public async Task<bool> RevokeKeyAsync(string project, string keyId, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = connection.CreateCommand();
        // COALESCE keeps the first revocation's time when a key is revoked twice.
        command.CommandText = "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $at) WHERE id = $id AND project = $project";
        command.Parameters.AddWithValue("$id", keyId);
        command.Parameters.AddWithValue("$project", project);
        command.Parameters.AddWithValue("$at", clock.GetUtcNow().ToUnixTimeMilliseconds());
        return await command.ExecuteNonQueryAsync(ct) == 1;
    }

    public async Task<Project?> GetProjectAsync(string project, CancellationToken ct) =>
        (await QueryProjectsAsync("WHERE id = $id", p => p.AddWithValue("$id", project), ct)).SingleOrDefault();

    public Task<IReadOnlyList<Project>> ListProjectsAsync(CancellationToken ct) =>
        QueryProjectsAsync("ORDER BY id", _ => { }, ct);

    public async Task<bool> RenameProjectAsync(string project, string displayName, long version, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE projects SET display_name = iif(display_name_version < $version, $name, display_name),
                display_name_version = max(display_name_version, $version)
            WHERE id = $id
            """;
        command.Parameters.AddWithValue("$id", project);
        command.Parameters.AddWithValue("$name", displayName);
        command.Parameters.AddWithValue("$version", version);
        return await command.ExecuteNonQueryAsync(ct) == 1;
    }

    public async Task<bool> ArchiveProjectAsync(string project, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE projects SET archived_at = COALESCE(archived_at, $at) WHERE id = $id";
        command.Parameters.AddWithValue("$id", project);
        command.Parameters.AddWithValue("$at", clock.GetUtcNow().ToUnixTimeMilliseconds());
        return await command.ExecuteNonQueryAsync(ct) == 1;
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "the WHERE fragment is a constant of this class; its values are bound as parameters")]
    private async Task<IReadOnlyList<Project>> QueryProjectsAsync(string where, Action<SqliteParameterCollection> parameters, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT id, display_name, created_at, archived_at FROM projects {where}";
        parameters(command.Parameters);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var projects = new List<Project>();
        while (await reader.ReadAsync(ct))
            projects.Add(new Project(reader.GetString(0), await reader.IsDBNullAsync(1, ct) ? reader.GetString(0) : reader.GetString(1),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)),
                await reader.IsDBNullAsync(3, ct) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3))));
        return projects;
    }

    private static async Task RehashAsync(SqliteConnection connection, string keyId, string hash, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE api_keys SET secret_hash = $hash WHERE id = $id";
        command.Parameters.AddWithValue("$id", keyId);
        command.Parameters.AddWithValue("$hash", hash);
        await command.ExecuteNonQueryAsync(ct);
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "the WHERE fragment is a constant of this class; its values are bound as parameters")]
    private static async Task<List<(ApiKey Key, string Hash)>> QueryKeysAsync(SqliteConnection connection, string where,
        Action<SqliteParameterCollection> parameters, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {KeyColumns} FROM api_keys k JOIN projects p ON p.id = k.project WHERE {where}";
        parameters(command.Parameters);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var keys = new List<(ApiKey, string)>();
        while (await reader.ReadAsync(ct))
            keys.Add((new ApiKey(reader.GetString(0), reader.GetString(1),
                reader.GetString(2).Split(' ', StringSplitOptions.RemoveEmptyEntries),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)),
                await reader.IsDBNullAsync(4, ct) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)),
                await reader.IsDBNullAsync(5, ct) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)),
                await reader.IsDBNullAsync(6, ct) ? "" : reader.GetString(6)), reader.GetString(7)));
        return keys;
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "ALTER TABLE takes identifiers, not parameters: table, column and type are constants of this class's migrations")]
    private static async Task AddColumnAsync(SqliteConnection connection, string table, string column, string type, CancellationToken ct)
    {
        await using var exists = connection.CreateCommand();
        exists.CommandText = "SELECT COUNT(*) FROM pragma_table_info($table) WHERE name = $column";
        exists.Parameters.AddWithValue("$table", table);
        exists.Parameters.AddWithValue("$column", column);
        if (Convert.ToInt64(await exists.ExecuteScalarAsync(ct), CultureInfo.InvariantCulture) > 0)
            return;
        await using var alter = connection.CreateCommand();
        alter.CommandText = $"ALTER TABLE {table} ADD COLUMN {column} {type}";
        try
        {
            await alter.ExecuteNonQueryAsync(ct);
        }
        catch (SqliteException e) when (e.Message.Contains("duplicate column", StringComparison.OrdinalIgnoreCase))
        {
            // Another process added it between the check and the ALTER.
        }
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken ct)
    {
        var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(ct);
        return connection;
    }
}
