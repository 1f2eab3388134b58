using System.Globalization;
using Microsoft.Data.Sqlite;

namespace AgentStack.Access;

/// <summary>
/// Projects and their keys in the embedded default: a small SQLite file beside the event log.
/// Lookups are cached by <see cref="CachingAccessStore"/>, which every host puts in front of its store.
/// </summary>
public sealed class SqliteAccessStore(string databasePath, TimeProvider clock) : IAccessStore
{
    private const string KeyColumns = "id, project, scopes, created_at, revoked_at";
    private readonly string connectionString = new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = true }.ToString();
    private bool initialized;

    public async Task InitializeAsync(CancellationToken ct)
    {
        if (initialized)
            return;
        await using var connection = await OpenAsync(ct);
        await using var command = connection.CreateCommand();
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
        initialized = true;
    }

    public async Task EnsureProjectAsync(string project, CancellationToken ct)
    {
        ProjectNames.ThrowIfInvalid(project);
        await TryCreateProjectAsync(project, ct);
    }

    public async Task<bool> TryCreateProjectAsync(string project, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "INSERT OR IGNORE INTO projects (id, created_at) VALUES ($id, $at)";
        command.Parameters.AddWithValue("$id", project);
        command.Parameters.AddWithValue("$at", clock.GetUtcNow().ToUnixTimeMilliseconds());
        return await command.ExecuteNonQueryAsync(ct) == 1;
    }

    public async Task<ApiKey> EnsureKeyAsync(string project, string secret, IReadOnlyList<string> scopes, CancellationToken ct)
    {
        await EnsureProjectAsync(project, ct);
        var hash = ApiKey.HashSecret(secret);
        await using var connection = await OpenAsync(ct);
        await using (var insert = connection.CreateCommand())
        {
            insert.CommandText = """
                INSERT INTO api_keys (id, project, secret_hash, scopes, created_at) VALUES ($id, $project, $hash, $scopes, $at)
                ON CONFLICT (secret_hash) DO NOTHING
                """;
            insert.Parameters.AddWithValue("$id", AccessStoreExtensions.KeyIdFor(hash));
            insert.Parameters.AddWithValue("$project", project);
            insert.Parameters.AddWithValue("$hash", hash);
            insert.Parameters.AddWithValue("$scopes", string.Join(' ', scopes));
            insert.Parameters.AddWithValue("$at", clock.GetUtcNow().ToUnixTimeMilliseconds());
            await insert.ExecuteNonQueryAsync(ct);
        }
        var stored = (await QueryKeysAsync(connection, "secret_hash = $hash", p => p.AddWithValue("$hash", hash), ct)).SingleOrDefault()
            ?? throw new InvalidOperationException("The key could not be stored.");
        return stored.RevokedAt is null
            ? stored
            : throw new InvalidOperationException($"Key {stored.KeyId} with this secret was revoked; a revoked secret is never restored. Choose a new secret.");
    }

    public async Task<bool> AnyKeysAsync(CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT EXISTS (SELECT 1 FROM api_keys WHERE revoked_at IS NULL)";
        return Convert.ToInt64(await command.ExecuteScalarAsync(ct), CultureInfo.InvariantCulture) == 1;
    }

    public async Task<ApiKey?> FindBySecretAsync(string secret, CancellationToken ct)
    {
        var hash = ApiKey.HashSecret(secret);
        await using var connection = await OpenAsync(ct);
        return (await QueryKeysAsync(connection, "secret_hash = $hash AND revoked_at IS NULL",
            p => p.AddWithValue("$hash", hash), ct)).SingleOrDefault();
    }

    public async Task<IReadOnlyList<ApiKey>> ListKeysAsync(string project, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        return await QueryKeysAsync(connection, "project = $project ORDER BY created_at, id",
            p => p.AddWithValue("$project", project), ct);
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

    private static async Task<List<ApiKey>> QueryKeysAsync(SqliteConnection connection, string where,
        Action<SqliteParameterCollection> parameters, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {KeyColumns} FROM api_keys WHERE {where}";
        parameters(command.Parameters);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var keys = new List<ApiKey>();
        while (await reader.ReadAsync(ct))
            keys.Add(new ApiKey(reader.GetString(0), reader.GetString(1),
                reader.GetString(2).Split(' ', StringSplitOptions.RemoveEmptyEntries),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)),
                await reader.IsDBNullAsync(4, ct) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4))));
        return keys;
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken ct)
    {
        var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(ct);
        return connection;
    }
}
