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
}
