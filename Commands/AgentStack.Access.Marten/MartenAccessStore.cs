using AgentStack.Access;
using AgentStack.Events;
using JasperFx;
using Marten;
using Npgsql;

namespace AgentStack.Access.Marten;

/// <summary>
/// Projects and keys of the distributed topology (issue 4) as Marten documents, so every host (collector,
/// query API, handlers) authenticates against the same keys. Tables <c>mt_doc_access_project</c> and
/// <c>mt_doc_access_key</c> in <see cref="MartenAccessStoreOptions.Schema"/>; the key table has a unique
/// index on the secret hash and a foreign key to its project.
/// <para>
/// Concurrency between hosts rests on PostgreSQL's constraints, not on reads: creating a project or key
/// that another host created first fails on the primary key or the unique secret hash, and that failure
/// means "exists already" (the row is read back), so two hosts bootstrapping one key at once neither fail
/// nor duplicate it. Changes read a whole document and write it back, so both documents are versioned
/// (optimistic concurrency): a change that another host's write overtook is read and made again, and a
/// rename never undoes an archive, nor an expiry a revocation.
/// </para>
/// </summary>
public sealed class MartenAccessStore : IAccessStore, IAsyncDisposable, IDisposable
{
    private readonly MartenAccessStoreOptions options;
    private readonly TimeProvider clock;
    private readonly DocumentStore store;
    private readonly SemaphoreSlim schemaGate = new(1, 1);
    private volatile bool schemaReady;
    private SecretHasher? hasher;

    private SecretHasher Hasher => hasher ?? throw new InvalidOperationException("InitializeAsync first.");

    public MartenAccessStore(MartenAccessStoreOptions options, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.ConnectionString);
        if (PostgresIdentifier.Refusal(options.Schema) is { } refusal)
            throw new ArgumentException($"Schema '{options.Schema}' {refusal}.", nameof(options));
        this.options = options;
        this.clock = clock;
        store = DocumentStore.For(o =>
        {
            o.Connection(options.ConnectionString);
            o.DatabaseSchemaName = options.Schema;
            o.AutoCreateSchemaObjects = AutoCreate.CreateOrUpdate;
            // Aliases keep the tables recognisable beside other documents in a shared schema.
            o.Schema.For<ProjectDocument>().DocumentAlias("access_project").UseOptimisticConcurrency(true);
            o.Schema.For<AccessPepperDocument>().DocumentAlias("access_pepper");
            o.Schema.For<ApiKeyDocument>().DocumentAlias("access_key").UseOptimisticConcurrency(true)
                .Duplicate(k => k.SecretHash, notNull: true, configure: index => index.IsUnique = true)
                .ForeignKey<ProjectDocument>(k => k.Project);
        });
    }

    /// <summary>
    /// Creates or updates the document tables under the same advisory lock the Marten event store takes for
    /// its DDL in that schema, so hosts starting together do not race on CREATE TABLE or on Marten's functions.
    /// </summary>
    public async Task InitializeAsync(CancellationToken ct)
    {
        if (schemaReady)
            return;
        await schemaGate.WaitAsync(ct);
        try
        {
            if (schemaReady)
                return;
            await using var connection = new NpgsqlConnection(options.ConnectionString);
            await connection.OpenAsync(ct);
            await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_lock(hashtext(@key))", connection))
            {
                lockCommand.Parameters.AddWithValue("key", $"agentstack-schema:{options.Schema}");
                await lockCommand.ExecuteNonQueryAsync(ct);
            }
            try
            {
                await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
            }
            finally
            {
                await using var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock(hashtext(@key))", connection);
                unlock.Parameters.AddWithValue("key", $"agentstack-schema:{options.Schema}");
                await unlock.ExecuteNonQueryAsync(CancellationToken.None);
            }
            hasher = options.Pepper is { Length: > 0 } configured
                ? SecretHasher.FromConfigured(configured)
                : new SecretHasher(await LoadOrCreatePepperAsync(ct));
            schemaReady = true;
        }
        finally
        {
            schemaGate.Release();
        }
    }

    public async Task EnsureProjectAsync(string project, CancellationToken ct)
    {
        ProjectNames.ThrowIfInvalid(project);
        await TryCreateProjectAsync(project, ct);
    }

    public async Task<bool> TryCreateProjectAsync(string project, CancellationToken ct)
    {
        await InitializeAsync(ct);
        await using var session = store.LightweightSession();
        session.Insert(new ProjectDocument { Id = project, CreatedAt = clock.GetUtcNow() });
        try
        {
            await session.SaveChangesAsync(ct);
            return true;
        }
        catch (Exception e) when (IsUniqueViolation(e))
        {
            return false;
        }
    }

    public async Task<ApiKey> EnsureKeyAsync(string project, string secret, IReadOnlyList<string> scopes, DateTimeOffset? expiresAt,
        CancellationToken ct)
    {
        await EnsureProjectAsync(project, ct);
        var hash = Hasher.Hash(secret);
        var stored = await FindByHashAsync(hash, ct);
        if (stored is null)
        {
            await using var session = store.LightweightSession();
            session.Insert(new ApiKeyDocument
            {
                Id = AccessStoreExtensions.KeyIdFor(hash),
                Project = project,
                SecretHash = hash,
                Scopes = [.. scopes],
                CreatedAt = clock.GetUtcNow(),
                ExpiresAt = expiresAt,
                Prefix = ApiKey.PrefixOf(secret),
            });
            try
            {
                await session.SaveChangesAsync(ct);
            }
            catch (Exception e) when (IsUniqueViolation(e))
            {
                // Another host stored this secret between our read and our insert: its key stands.
            }
            stored = await FindByHashAsync(hash, ct) ?? throw new InvalidOperationException("The key could not be stored.");
        }
        return stored.RevokedAt is null
            ? ToKey(stored)
            : throw new InvalidOperationException($"Key {stored.Id} with this secret was revoked; a revoked secret is never restored. Choose a new secret.");
    }

    public async Task<bool> ExpireKeyAsync(string project, string keyId, DateTimeOffset at, CancellationToken ct)
    {
        var key = await ChangeAsync<ApiKeyDocument>(keyId, k =>
        {
            if (k.Project != project || k.ExpiresAt <= at)
                return false;
            k.ExpiresAt = at;
            return true;
        }, ct);
        return key?.Project == project;
    }

    public async Task<Project?> GetProjectAsync(string project, CancellationToken ct)
    {
        await InitializeAsync(ct);
        await using var session = store.QuerySession();
        return await session.LoadAsync<ProjectDocument>(project, ct) is { } found ? ToProject(found) : null;
    }

    public async Task<IReadOnlyList<Project>> ListProjectsAsync(CancellationToken ct)
    {
        await InitializeAsync(ct);
        await using var session = store.QuerySession();
        var projects = await session.Query<ProjectDocument>().OrderBy(p => p.Id).ToListAsync(ct);
        return [.. projects.Select(ToProject)];
    }

    public async Task<bool> RenameProjectAsync(string project, string displayName, long version, CancellationToken ct) =>
        await ChangeAsync<ProjectDocument>(project, p =>
        {
            if (p.DisplayNameVersion >= version)
                return false;
            (p.DisplayName, p.DisplayNameVersion) = (displayName, version);
            return true;
        }, ct) is not null;

    public async Task<bool> ArchiveProjectAsync(string project, CancellationToken ct) =>
        await ChangeAsync<ProjectDocument>(project, p =>
        {
            if (p.ArchivedAt is not null)
                return false;
            p.ArchivedAt = clock.GetUtcNow();
            return true;
        }, ct) is not null;

    /// <summary>
    /// Reads a document, lets <paramref name="change"/> change it (false: nothing to write) and writes it back
    /// unless another host wrote it since the read; then it is read and changed again. Returns the document as
    /// written or found, null when there is none.
    /// </summary>
    private async Task<T?> ChangeAsync<T>(string id, Func<T, bool> change, CancellationToken ct) where T : class
    {
        await InitializeAsync(ct);
        for (var attempt = 1; ; attempt++)
        {
            await using var session = store.LightweightSession();
            var found = await session.LoadAsync<T>(id, ct);
            if (found is null || !change(found))
                return found;
            session.Update(found);
            try
            {
                await session.SaveChangesAsync(ct);
                return found;
            }
            catch (Exception e) when (attempt < MaxChangeAttempts && IsConcurrencyConflict(e))
            {
                // Another host's write came first: read it, and change that.
            }
        }
    }

    /// <summary>Attempts of one change against other hosts' writes to the same document; each lost one read anew.</summary>
    private const int MaxChangeAttempts = 16;

    private static Project ToProject(ProjectDocument p) => new(p.Id, p.DisplayName ?? p.Id, p.CreatedAt, p.ArchivedAt);

    /// <summary>The schema's own pepper: the first host to start inserts it, every other host reads that one.</summary>
    private async Task<byte[]> LoadOrCreatePepperAsync(CancellationToken ct)
    {
        await using (var session = store.LightweightSession())
        {
            session.Insert(new AccessPepperDocument { Value = Convert.ToBase64String(SecretHasher.NewPepper()) });
            try
            {
                await session.SaveChangesAsync(ct);
            }
            catch (Exception e) when (IsUniqueViolation(e))
            {
                // Another host stored it first: theirs stands.
            }
        }
        await using var query = store.QuerySession();
        var stored = await query.LoadAsync<AccessPepperDocument>("pepper", ct) ?? throw new InvalidOperationException("The access pepper could not be stored.");
        return Convert.FromBase64String(stored.Value);
    }

    public async Task<bool> AnyKeysAsync(CancellationToken ct)
    {
        await InitializeAsync(ct);
        await using var session = store.QuerySession();
        var now = clock.GetUtcNow();
        return await session.Query<ApiKeyDocument>().AnyAsync(k => k.RevokedAt == null && (k.ExpiresAt == null || k.ExpiresAt > now), ct);
    }

    public async Task<ApiKey?> FindBySecretAsync(string secret, CancellationToken ct)
    {
        await InitializeAsync(ct);
        var hash = Hasher.Hash(secret);
        var found = await FindByHashAsync(hash, ct);
        if (found is null)
        {
            // Keys stored before issue 17 carry an unkeyed SHA-256; they still match, and are re-hashed when they do.
            var legacy = ApiKey.HashSecret(secret);
            found = await FindByHashAsync(legacy, ct);
            if (found is null || !SecretHasher.Matches(found.SecretHash, legacy))
                return null;
            found = await ChangeAsync<ApiKeyDocument>(found.Id, k =>
            {
                if (!SecretHasher.Matches(k.SecretHash, legacy))
                    return false;
                k.SecretHash = hash;
                return true;
            }, ct);
            if (found is null)
                return null;
        }
        else if (!SecretHasher.Matches(found.SecretHash, hash))
            return null;
        var key = ToKey(found);
        if (!key.IsActiveAt(clock.GetUtcNow()))
            return null;
        await using var projects = store.QuerySession();
        return await projects.LoadAsync<ProjectDocument>(key.Project, ct) is { ArchivedAt: null } ? key : null;
    }

    public async Task<IReadOnlyList<ApiKey>> ListKeysAsync(string project, CancellationToken ct)
    {
        await InitializeAsync(ct);
        await using var session = store.QuerySession();
        var keys = await session.Query<ApiKeyDocument>().Where(k => k.Project == project)
            .OrderBy(k => k.CreatedAt).ThenBy(k => k.Id).ToListAsync(ct);
        return [.. keys.Select(ToKey)];
    }

    public async Task<bool> RevokeKeyAsync(string project, string keyId, CancellationToken ct)
    {
        var key = await ChangeAsync<ApiKeyDocument>(keyId, k =>
        {
            if (k.Project != project || k.RevokedAt is not null)
                return false;
            k.RevokedAt = clock.GetUtcNow();
            return true;
        }, ct);
        return key?.Project == project;
    }

    private async Task<ApiKeyDocument?> FindByHashAsync(string hash, CancellationToken ct)
    {
        await InitializeAsync(ct);
        await using var session = store.QuerySession();
        return await session.Query<ApiKeyDocument>().Where(k => k.SecretHash == hash).SingleOrDefaultAsync(ct);
    }

    private static ApiKey ToKey(ApiKeyDocument key) =>
        new(key.Id, key.Project, key.Scopes, key.CreatedAt, key.RevokedAt, key.ExpiresAt, key.Prefix ?? "");

    /// <summary>A primary-key or unique-index conflict, however Marten wraps PostgreSQL's 23505.</summary>
    private static bool IsUniqueViolation(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
            if (inner is DocumentAlreadyExistsException or PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
                return true;
        return false;
    }

    /// <summary>A versioned document written by another session since this one read it.</summary>
    private static bool IsConcurrencyConflict(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
            if (inner is ConcurrencyException || (inner is AggregateException all && all.InnerExceptions.Any(IsConcurrencyConflict)))
                return true;
        return false;
    }

    public ValueTask DisposeAsync()
    {
        schemaGate.Dispose();
        return store.DisposeAsync();
    }

    public void Dispose()
    {
        schemaGate.Dispose();
        store.Dispose();
    }
}
