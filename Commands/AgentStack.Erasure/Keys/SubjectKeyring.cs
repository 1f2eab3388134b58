using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace AgentStack.Erasure.Keys;

/// <summary>
/// The key store behind a cache, so sealing and opening cost no I/O on the hot path. Erasing through this
/// keyring evicts at once; other processes sharing the key store (the distributed topology) drop their
/// cached keys after <see cref="CacheLifetime"/> (<c>AgentStack:Erasure:KeyCacheSeconds</c>, docs/privacy.md).
/// A destroyed key is never created again (ids are random), so a miss is cached for good.
/// </summary>
public sealed class SubjectKeyring(ISubjectKeyStore store, TimeSpan cacheLifetime)
{
    private readonly ConcurrentDictionary<(string Project, string SubjectHash, int Day), (SubjectKey Key, long At)> sealing = new();
    private readonly ConcurrentDictionary<string, (byte[]? Key, long At)> opening = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte[]> secrets = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Project, string Subject), string> subjectHashes = new();
    private const int MaxCachedSubjects = 100_000;

    private long generation;

    public TimeSpan CacheLifetime { get; } = cacheLifetime;

    /// <summary>
    /// Counts the erasures made through this keyring: whatever was opened under an older generation may hold a
    /// payload whose key is gone now (<see cref="Sealing.OpenedEvents"/> drops it).
    /// </summary>
    public long Generation => Interlocked.Read(ref generation);

    public ISubjectKeyStore Store => store;

    /// <summary>The key that seals a payload of <paramref name="subject"/> (null: the project-wide key) on <paramref name="day"/> (yyyyMMdd).</summary>
    public SubjectKey ForSealing(string project, string? subject, int day)
    {
        var subjectHash = subject is null ? "" : SubjectHash(project, subject);
        var slot = (project, subjectHash, day);
        if (sealing.TryGetValue(slot, out var cached) && Fresh(cached.At))
            return cached.Key;
        var key = store.GetOrCreate(project, subjectHash, day);
        sealing[slot] = (key, Stopwatch.GetTimestamp());
        opening[key.KeyId] = (key.Key, Stopwatch.GetTimestamp());
        return key;
    }

    /// <summary>The key with this id, or null when it was destroyed.</summary>
    public byte[]? ForOpening(string keyId)
    {
        if (opening.TryGetValue(keyId, out var cached) && (cached.Key is null || Fresh(cached.At)))
            return cached.Key;
        var key = store.Find(keyId);
        opening[keyId] = (key, Stopwatch.GetTimestamp());
        return key;
    }

    /// <summary>HMAC-SHA256 of the subject under the project's secret, lower-case hex.</summary>
    public string SubjectHash(string project, string subject)
    {
        if (subjectHashes.TryGetValue((project, subject), out var cached))
            return cached;
        if (subjectHashes.Count >= MaxCachedSubjects)
            subjectHashes.Clear();
        return subjectHashes[(project, subject)] = Hash(project, subject);
    }

    private string Hash(string project, string subject)
    {
        var secret = secrets.GetOrAdd(project, store.ProjectSecret);
        return Convert.ToHexStringLower(HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes(subject)));
    }

    /// <summary>Destroys the subject's keys; returns their ids.</summary>
    public IReadOnlyList<string> Erase(string project, string subject) =>
        Evict(store.Destroy(project, SubjectHash(project, subject)));

    /// <summary>Destroys the project's keys of days before <paramref name="day"/> (yyyyMMdd); returns their ids.</summary>
    public IReadOnlyList<string> EraseBefore(string project, int day) => Evict(store.DestroyBefore(project, day));

    private IReadOnlyList<string> Evict(IReadOnlyList<string> keyIds)
    {
        var destroyed = keyIds.ToHashSet(StringComparer.Ordinal);
        foreach (var (slot, entry) in sealing)
            if (destroyed.Contains(entry.Key.KeyId))
                sealing.TryRemove(slot, out _);
        foreach (var id in keyIds)
            opening[id] = (null, Stopwatch.GetTimestamp());
        Interlocked.Increment(ref generation);
        return keyIds;
    }

    private bool Fresh(long at) => Stopwatch.GetElapsedTime(at) < CacheLifetime;
}
