using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;

namespace AgentStack.Commands.Access;

/// <summary>
/// Projects and their keys in the embedded default: a small SQLite file beside the event log.
/// Lookups by key hash are cached briefly, since every request authenticates.
/// </summary>
public sealed partial class AccessStore(string databasePath, TimeProvider clock)
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(30);
    private readonly string connectionString = new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = true }.ToString();
    private readonly ConcurrentDictionary<string, (ApiKey? Key, DateTimeOffset Until)> cache = new(StringComparer.Ordinal);
    private bool initialized;

    public static bool IsValidProjectName(string name) => ProjectPattern().IsMatch(name);

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
            """;
        await command.ExecuteNonQueryAsync(ct);
        initialized = true;
    }

    public async Task EnsureProjectAsync(string project, CancellationToken ct)
    {
        if (!IsValidProjectName(project))
            throw new ArgumentException($"Project name '{project}' must be 1-63 lower-case letters, digits, '-' or '_'.", nameof(project));
        await using var connection = await OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "INSERT OR IGNORE INTO projects (id, created_at) VALUES ($id, $at)";
        command.Parameters.AddWithValue("$id", project);
        command.Parameters.AddWithValue("$at", clock.GetUtcNow().ToUnixTimeMilliseconds());
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Creates the project; false when it exists already.</summary>
    public async Task<bool> TryCreateProjectAsync(string project, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "INSERT OR IGNORE INTO projects (id, created_at) VALUES ($id, $at)";
        command.Parameters.AddWithValue("$id", project);
        command.Parameters.AddWithValue("$at", clock.GetUtcNow().ToUnixTimeMilliseconds());
        return await command.ExecuteNonQueryAsync(ct) == 1;
    }

    /// <summary>Stores a key for <paramref name="secret"/> unless one with that secret exists; returns the key.</summary>
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
            insert.Parameters.AddWithValue("$id", "key_" + hash[..16]);
            insert.Parameters.AddWithValue("$project", project);
            insert.Parameters.AddWithValue("$hash", hash);
            insert.Parameters.AddWithValue("$scopes", string.Join(' ', scopes));
            insert.Parameters.AddWithValue("$at", clock.GetUtcNow().ToUnixTimeMilliseconds());
            await insert.ExecuteNonQueryAsync(ct);
        }
        cache.TryRemove(hash, out _);
        return await FindBySecretAsync(secret, ct)
            ?? throw new InvalidOperationException("The key could not be stored.");
    }

    /// <summary>Creates a new key with a fresh secret; the secret is returned once and never stored.</summary>
    public async Task<(ApiKey Key, string Secret)> CreateKeyAsync(string project, IReadOnlyList<string> scopes, CancellationToken ct)
    {
        var secret = ApiKey.NewSecret();
        return (await EnsureKeyAsync(project, secret, scopes, ct), secret);
    }

    public async Task<bool> AnyKeysAsync(CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT EXISTS (SELECT 1 FROM api_keys WHERE revoked_at IS NULL)";
        return Convert.ToInt64(await command.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture) == 1;
    }

    public async Task<ApiKey?> FindBySecretAsync(string secret, CancellationToken ct)
    {
        var hash = ApiKey.HashSecret(secret);
        var now = clock.GetUtcNow();
        if (cache.TryGetValue(hash, out var cached) && cached.Until > now)
            return cached.Key;

        await using var connection = await OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, project, scopes, created_at FROM api_keys WHERE secret_hash = $hash AND revoked_at IS NULL";
        command.Parameters.AddWithValue("$hash", hash);
        await using var reader = await command.ExecuteReaderAsync(ct);
        ApiKey? key = null;
        if (await reader.ReadAsync(ct))
            key = new ApiKey(reader.GetString(0), reader.GetString(1),
                reader.GetString(2).Split(' ', StringSplitOptions.RemoveEmptyEntries),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)));
        if (cache.Count > 10_000)
            cache.Clear();
        cache[hash] = (key, now + CacheFor);
        return key;
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken ct)
    {
        var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(ct);
        return connection;
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{0,62}$")]
    private static partial Regex ProjectPattern();
}
