using AgentStack.Access;

namespace AgentStack.EventStore.Tests.Access;

/// <summary>
/// Every request authenticates, so hosts look keys up through <see cref="CachingAccessStore"/>. What a host
/// changes itself shows at once; what another host changes shows once the entry expires (issue 4).
/// </summary>
public sealed class when_key_lookups_are_cached(SqliteDatabaseFolder<when_key_lookups_are_cached> folder)
    : IClassFixture<SqliteDatabaseFolder<when_key_lookups_are_cached>>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly FixedTimeProvider clock = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));

    private async Task<(CachingAccessStore Host, SqliteAccessStore OtherHost)> OpenAsync()
    {
        var path = Path.Combine(folder.Path, $"access-{Guid.NewGuid():N}.db");
        var otherHost = new SqliteAccessStore(path, clock);
        await otherHost.InitializeAsync(Ct);
        return (new CachingAccessStore(new SqliteAccessStore(path, clock), clock), otherHost);
    }

    [Fact]
    public async Task then_a_key_revoked_through_this_host_is_refused_at_once()
    {
        var (host, _) = await OpenAsync();
        var (key, secret) = await host.CreateKeyAsync("cached", Scopes.All, Ct);
        (await host.FindBySecretAsync(secret, Ct)).ShouldNotBeNull();

        (await host.RevokeKeyAsync("cached", key.KeyId, Ct)).ShouldBeTrue();

        (await host.FindBySecretAsync(secret, Ct)).ShouldBeNull();
    }

    [Fact]
    public async Task then_a_key_revoked_by_another_host_is_refused_once_the_entry_expires()
    {
        var (host, otherHost) = await OpenAsync();
        var (key, secret) = await otherHost.CreateKeyAsync("shared", Scopes.All, Ct);
        (await host.FindBySecretAsync(secret, Ct)).ShouldNotBeNull();

        await otherHost.RevokeKeyAsync("shared", key.KeyId, Ct);
        (await host.FindBySecretAsync(secret, Ct)).ShouldNotBeNull("still cached on this host");
        clock.Now += CachingAccessStore.CacheFor;

        (await host.FindBySecretAsync(secret, Ct)).ShouldBeNull();
    }

    [Fact]
    public async Task then_a_secret_unknown_before_is_found_once_this_host_stores_it()
    {
        var (host, _) = await OpenAsync();
        var secret = ApiKey.NewSecret();
        (await host.FindBySecretAsync(secret, Ct)).ShouldBeNull();

        await host.EnsureKeyAsync("later", secret, [Scopes.Ingest], Ct);

        (await host.FindBySecretAsync(secret, Ct)).ShouldNotBeNull().Scopes.ShouldBe([Scopes.Ingest]);
    }

    /// <summary>
    /// A lookup that read the store before this host revoked the key, and finishes after, must not put the key back in
    /// the cache the revocation just emptied.
    /// </summary>
    [Fact]
    public async Task then_a_lookup_that_read_before_a_revocation_does_not_cache_the_key_again()
    {
        var path = Path.Combine(folder.Path, $"access-{Guid.NewGuid():N}.db");
        var store = new SqliteAccessStore(path, clock);
        await store.InitializeAsync(Ct);
        var gated = new ReadThenWait(store);
        var host = new CachingAccessStore(gated, clock);
        var (key, secret) = await host.CreateKeyAsync("race", Scopes.All, Ct);

        gated.Waiting = true;
        var inFlight = host.FindBySecretAsync(secret, Ct);
        await gated.Read.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        (await host.RevokeKeyAsync("race", key.KeyId, Ct)).ShouldBeTrue();
        gated.Waiting = false;
        gated.Release.SetResult();
        (await inFlight).ShouldNotBeNull("read before the revocation");

        (await host.FindBySecretAsync(secret, Ct)).ShouldBeNull();
    }

    /// <summary>The store, but a lookup made while <see cref="Waiting"/> reads, then waits for <see cref="Release"/>.</summary>
    private sealed class ReadThenWait(IAccessStore inner) : IAccessStore
    {
        public bool Waiting { get; set; }
        public TaskCompletionSource Read { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task<ApiKey?> FindBySecretAsync(string secret, CancellationToken ct)
        {
            var waiting = Waiting;
            var key = await inner.FindBySecretAsync(secret, ct);
            if (waiting)
            {
                Read.SetResult();
                await Release.Task;
            }
            return key;
        }

        public Task InitializeAsync(CancellationToken ct) => inner.InitializeAsync(ct);
        public Task EnsureProjectAsync(string project, CancellationToken ct) => inner.EnsureProjectAsync(project, ct);
        public Task<bool> TryCreateProjectAsync(string project, CancellationToken ct) => inner.TryCreateProjectAsync(project, ct);
        public Task<ApiKey> EnsureKeyAsync(string project, string secret, IReadOnlyList<string> scopes, DateTimeOffset? expiresAt, CancellationToken ct) =>
            inner.EnsureKeyAsync(project, secret, scopes, expiresAt, ct);
        public Task<bool> ExpireKeyAsync(string project, string keyId, DateTimeOffset at, CancellationToken ct) => inner.ExpireKeyAsync(project, keyId, at, ct);
        public Task<Project?> GetProjectAsync(string project, CancellationToken ct) => inner.GetProjectAsync(project, ct);
        public Task<IReadOnlyList<Project>> ListProjectsAsync(CancellationToken ct) => inner.ListProjectsAsync(ct);
        public Task<bool> RenameProjectAsync(string project, string displayName, long version, CancellationToken ct) => inner.RenameProjectAsync(project, displayName, version, ct);
        public Task<bool> ArchiveProjectAsync(string project, CancellationToken ct) => inner.ArchiveProjectAsync(project, ct);
        public Task<bool> AnyKeysAsync(CancellationToken ct) => inner.AnyKeysAsync(ct);
        public Task<IReadOnlyList<ApiKey>> ListKeysAsync(string project, CancellationToken ct) => inner.ListKeysAsync(project, ct);
        public Task<bool> RevokeKeyAsync(string project, string keyId, CancellationToken ct) => inner.RevokeKeyAsync(project, keyId, ct);
    }
}
