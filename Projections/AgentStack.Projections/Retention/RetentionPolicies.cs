using System.Collections.Concurrent;
using AgentStack.Events;

namespace AgentStack.Projections.Retention;

/// <summary>A project's retention as its last <c>retention.policy.set.v1</c> left it; <see cref="Days"/> null keeps data forever.</summary>
public sealed record RetentionPolicy(int? Days, string? By, DateTimeOffset? At)
{
    public static readonly RetentionPolicy KeepForever = new(null, null, null);

    /// <summary>The value of the analytics tables' <c>retention_days</c> column: 0 for none.</summary>
    public int ColumnValue => Days ?? 0;
}

/// <summary>
/// Reads each project's retention policy from the log itself (issue 17.3, docs/retention.md): the last
/// <see cref="RetentionPolicySet"/> of the project's access stream. The log is the one store every host shares on
/// both topologies (SQLite, Marten), so no access provider keeps a copy that could disagree with the audit trail.
/// Answers are cached for <see cref="CacheLifetime"/>; the process that sets a policy forgets its copy at once.
/// </summary>
public sealed class RetentionPolicies(IEventStore events, TimeProvider clock)
{
    public static readonly TimeSpan CacheLifetime = TimeSpan.FromSeconds(30);
    private readonly ConcurrentDictionary<string, (RetentionPolicy Policy, DateTimeOffset At)> cache = new(StringComparer.Ordinal);

    public async ValueTask<RetentionPolicy> GetAsync(string project, CancellationToken ct) =>
        TryGetCached(project, out var policy) ? policy : await ReadAsync(project, ct);

    /// <summary>The project's policy read from the log now, not from a copy up to <see cref="CacheLifetime"/> old; it is cached.</summary>
    public async Task<RetentionPolicy> ReadAsync(string project, CancellationToken ct)
    {
        var policy = RetentionPolicy.KeepForever;
        await foreach (var stored in events.ReadStreamAsync(AccessStream.Name(project), 1, ct))
            if (stored.Type == RetentionEventTypes.PolicySet && EventTypes.Deserialize(stored.Type, stored.Data) is RetentionPolicySet set)
                policy = new RetentionPolicy(set.Days, set.By, set.At);
        cache[project] = (policy, clock.GetUtcNow());
        return policy;
    }

    /// <summary>The cached policy of <paramref name="project"/>, when it is fresh (no read of the log).</summary>
    public bool TryGetCached(string project, out RetentionPolicy policy)
    {
        if (cache.TryGetValue(project, out var cached) && clock.GetUtcNow() - cached.At < CacheLifetime)
        {
            policy = cached.Policy;
            return true;
        }
        policy = RetentionPolicy.KeepForever;
        return false;
    }

    /// <summary>Drops the cached policy of <paramref name="project"/> (after this process changed it).</summary>
    public void Forget(string project) => cache.TryRemove(project, out _);
}
