using System.Collections.Concurrent;

namespace AgentStack.Access;

/// <summary>
/// Every request authenticates, so lookups by key hash (found or not) are cached briefly, in front of
/// whichever store the host uses. What this host changes (a key stored or revoked) drops its entries at
/// once; a revocation made by another host reaches this one within <see cref="CacheFor"/> (issue 4). A cached
/// key past its expiry is refused without waiting for the entry to go (issue 17). The cache is keyed by an unkeyed
/// SHA-256 of the secret, held in memory only. A lookup that read the store before a change of this host finished
/// is answered but not cached (<see cref="changes"/>), or it would put back what the change had just dropped.
/// </summary>
public sealed class CachingAccessStore(IAccessStore inner, TimeProvider clock) : IAccessStore
{
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(30);
    private const int MaxEntries = 10_000;
    private readonly ConcurrentDictionary<string, (ApiKey? Key, DateTimeOffset Until)> cache = new(StringComparer.Ordinal);

    /// <summary>Counts this host's changes to keys; each is counted after the store has it and before its entries are dropped.</summary>
    private long changes;

    public Task InitializeAsync(CancellationToken ct) => inner.InitializeAsync(ct);

    public Task EnsureProjectAsync(string project, CancellationToken ct) => inner.EnsureProjectAsync(project, ct);

    public Task<bool> TryCreateProjectAsync(string project, CancellationToken ct) => inner.TryCreateProjectAsync(project, ct);

    public async Task<ApiKey> EnsureKeyAsync(string project, string secret, IReadOnlyList<string> scopes, DateTimeOffset? expiresAt,
        CancellationToken ct)
    {
        var key = await inner.EnsureKeyAsync(project, secret, scopes, expiresAt, ct);
        Interlocked.Increment(ref changes);
        cache.TryRemove(ApiKey.HashSecret(secret), out _);
        return key;
    }

    public Task<bool> AnyKeysAsync(CancellationToken ct) => inner.AnyKeysAsync(ct);

    public async Task<ApiKey?> FindBySecretAsync(string secret, CancellationToken ct)
    {
        var hash = ApiKey.HashSecret(secret);
        var now = clock.GetUtcNow();
        if (cache.TryGetValue(hash, out var cached) && cached.Until > now)
            return cached.Key is { } hit && hit.IsActiveAt(now) ? hit : null;
        var before = Interlocked.Read(ref changes);
        var key = await inner.FindBySecretAsync(secret, ct);
        if (cache.Count > MaxEntries)
            cache.Clear();
        cache[hash] = (key, now + CacheFor);
        // A change made meanwhile may have dropped this entry already: what was read may predate it.
        if (Interlocked.Read(ref changes) != before)
            cache.TryRemove(hash, out _);
        return key;
    }

    public Task<IReadOnlyList<ApiKey>> ListKeysAsync(string project, CancellationToken ct) => inner.ListKeysAsync(project, ct);

    public async Task<bool> RevokeKeyAsync(string project, string keyId, CancellationToken ct)
    {
        var revoked = await inner.RevokeKeyAsync(project, keyId, ct);
        Drop(key => key.KeyId == keyId);
        return revoked;
    }

    public async Task<bool> ExpireKeyAsync(string project, string keyId, DateTimeOffset at, CancellationToken ct)
    {
        var changed = await inner.ExpireKeyAsync(project, keyId, at, ct);
        Drop(key => key.KeyId == keyId);
        return changed;
    }

    public Task<Project?> GetProjectAsync(string project, CancellationToken ct) => inner.GetProjectAsync(project, ct);

    public Task<IReadOnlyList<Project>> ListProjectsAsync(CancellationToken ct) => inner.ListProjectsAsync(ct);

    public Task<bool> RenameProjectAsync(string project, string displayName, long version, CancellationToken ct) =>
        inner.RenameProjectAsync(project, displayName, version, ct);

    public async Task<bool> ArchiveProjectAsync(string project, CancellationToken ct)
    {
        var archived = await inner.ArchiveProjectAsync(project, ct);
        Drop(key => key.Project == project);
        return archived;
    }

    /// <summary>The cache is keyed by hash, which a key id does not give back: drop the entries holding matching keys.</summary>
    private void Drop(Func<ApiKey, bool> matches)
    {
        Interlocked.Increment(ref changes);
        foreach (var (hash, entry) in cache)
            if (entry.Key is { } key && matches(key))
                cache.TryRemove(hash, out _);
    }
}
