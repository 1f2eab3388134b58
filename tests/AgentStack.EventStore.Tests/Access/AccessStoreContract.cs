using AgentStack.Access;

namespace AgentStack.EventStore.Tests.Access;

/// <summary>
/// What every <see cref="IAccessStore"/> adapter must do (issue 4: projects and keys shared by the hosts of
/// the distributed topology), run unchanged against each one. Unlike the event-store contract, the database
/// is reset before each test: "no key yet" and "two hosts create the schema at once" need an empty one.
/// </summary>
public abstract class AccessStoreContract : IAsyncLifetime
{
    private readonly List<IAccessStore> opened = [];

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Empties the database this test class owns.</summary>
    protected abstract Task ResetAsync();

    /// <summary>
    /// A store over the test's database, as one host would open it; several model several hosts. With
    /// <paramref name="pepper"/>, secrets are hashed under that configured pepper, else under the store's own.
    /// </summary>
    protected abstract IAccessStore CreateStore(TimeProvider clock, string? pepper = null);

    /// <summary>Everything the adapter stored about keys, as text an attacker reading the database would see.</summary>
    protected abstract Task<string> ReadStoredKeysAsync();

    public async ValueTask InitializeAsync() => await ResetAsync();

    public async ValueTask DisposeAsync()
    {
        foreach (var store in opened)
            if (store is IAsyncDisposable disposable)
                await disposable.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    private async Task<IAccessStore> OpenAsync(TimeProvider? clock = null, string? pepper = null)
    {
        var store = CreateStore(clock ?? TimeProvider.System, pepper);
        opened.Add(store);
        await store.InitializeAsync(Ct);
        return store;
    }

    private static string NewProject(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task when_a_key_is_stored_then_its_secret_finds_it_with_project_and_scopes()
    {
        var clock = new FixedTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        var store = await OpenAsync(clock);
        var project = NewProject("find");

        var (created, secret) = await store.CreateKeyAsync(project, [Scopes.Ingest, Scopes.Read], Ct);

        var found = (await store.FindBySecretAsync(secret, Ct)).ShouldNotBeNull();
        found.KeyId.ShouldBe(created.KeyId);
        found.KeyId.ShouldStartWith("key_");
        found.Prefix.ShouldBe(secret[..ApiKey.PrefixLength]);
        found.ExpiresAt.ShouldBeNull();
        found.Project.ShouldBe(project);
        found.Scopes.ShouldBe([Scopes.Ingest, Scopes.Read]);
        found.CreatedAt.ShouldBe(clock.Now);
        found.RevokedAt.ShouldBeNull();
        (await store.FindBySecretAsync(ApiKey.NewSecret(), Ct)).ShouldBeNull();
        (await store.FindBySecretAsync(secret + "x", Ct)).ShouldBeNull();
    }

    [Fact]
    public async Task when_a_key_is_stored_then_only_a_keyed_hash_of_its_secret_is_kept()
    {
        var pepper = "a-configured-pepper-" + Guid.NewGuid().ToString("N");
        var store = await OpenAsync(pepper: pepper);
        var (_, secret) = await store.CreateKeyAsync(NewProject("hash"), Scopes.All, Ct);

        var stored = await ReadStoredKeysAsync();

        stored.ShouldContain(SecretHasher.FromConfigured(pepper).Hash(secret));
        // Neither the secret beyond its shown prefix, nor an unkeyed hash that a database copy could test guesses against.
        stored.ShouldNotContain(secret);
        stored.ShouldNotContain(secret[ApiKey.PrefixLength..]);
        stored.ShouldNotContain(ApiKey.HashSecret(secret));
    }

    [Fact]
    public async Task when_the_pepper_differs_then_a_stored_secret_is_not_found()
    {
        var pepper = "first-pepper-" + Guid.NewGuid().ToString("N");
        var (_, secret) = await (await OpenAsync(pepper: pepper)).CreateKeyAsync(NewProject("pepper"), Scopes.All, Ct);

        (await (await OpenAsync(pepper: pepper)).FindBySecretAsync(secret, Ct)).ShouldNotBeNull();
        (await (await OpenAsync(pepper: "another-pepper-" + Guid.NewGuid().ToString("N"))).FindBySecretAsync(secret, Ct)).ShouldBeNull();
    }

    [Fact]
    public async Task when_no_pepper_is_configured_then_every_store_over_the_database_shares_one()
    {
        var (_, secret) = await (await OpenAsync()).CreateKeyAsync(NewProject("shared"), Scopes.All, Ct);

        (await (await OpenAsync()).FindBySecretAsync(secret, Ct)).ShouldNotBeNull();
    }

    [Fact]
    public async Task when_a_key_expires_then_it_is_refused_from_then_on_and_listed_with_its_expiry()
    {
        var clock = new FixedTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        var store = await OpenAsync(clock);
        var project = NewProject("expiry");
        var expiresAt = clock.Now.AddHours(1);
        var (key, secret) = await store.CreateKeyAsync(project, [Scopes.Read], Ct, expiresAt);

        (await store.FindBySecretAsync(secret, Ct)).ShouldNotBeNull().ExpiresAt.ShouldBe(expiresAt);
        clock.Now = expiresAt.AddTicks(-10);
        (await store.FindBySecretAsync(secret, Ct)).ShouldNotBeNull();
        clock.Now = expiresAt;
        (await store.FindBySecretAsync(secret, Ct)).ShouldBeNull();
        (await store.AnyKeysAsync(Ct)).ShouldBeFalse();
        (await store.ListKeysAsync(project, Ct)).ShouldHaveSingleItem().ExpiresAt.ShouldBe(expiresAt);
        key.KeyId.ShouldNotBeNullOrEmpty();
    }

    [Fact]
    public async Task when_a_key_expiry_is_brought_forward_then_it_never_moves_later()
    {
        var clock = new FixedTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        var store = await OpenAsync(clock);
        var project = NewProject("rotate");
        var (key, secret) = await store.CreateKeyAsync(project, Scopes.All, Ct);

        (await store.ExpireKeyAsync(project, key.KeyId, clock.Now.AddMinutes(10), Ct)).ShouldBeTrue();
        (await store.ExpireKeyAsync(project, key.KeyId, clock.Now.AddHours(10), Ct)).ShouldBeTrue();
        (await store.ExpireKeyAsync(NewProject("other"), key.KeyId, clock.Now, Ct)).ShouldBeFalse();

        (await store.ListKeysAsync(project, Ct)).Single().ExpiresAt.ShouldBe(clock.Now.AddMinutes(10));
        clock.Now = clock.Now.AddMinutes(10);
        (await store.FindBySecretAsync(secret, Ct)).ShouldBeNull();
    }

    [Fact]
    public async Task when_a_project_is_renamed_and_archived_then_its_id_stays_and_its_keys_are_refused()
    {
        var clock = new FixedTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        var store = await OpenAsync(clock);
        var project = NewProject("archive");
        var (_, secret) = await store.CreateKeyAsync(project, Scopes.All, Ct);
        var (_, otherSecret) = await store.CreateKeyAsync(NewProject("kept"), Scopes.All, Ct);
        (await store.FindBySecretAsync(secret, Ct)).ShouldNotBeNull();

        (await store.RenameProjectAsync(project, "Checkout agents", version: 2, Ct)).ShouldBeTrue();
        clock.Now = clock.Now.AddHours(1);
        (await store.ArchiveProjectAsync(project, Ct)).ShouldBeTrue();
        var archivedAt = clock.Now;
        clock.Now = clock.Now.AddHours(1);
        (await store.ArchiveProjectAsync(project, Ct)).ShouldBeTrue();

        var stored = (await store.GetProjectAsync(project, Ct)).ShouldNotBeNull();
        stored.Id.ShouldBe(project);
        stored.DisplayName.ShouldBe("Checkout agents");
        stored.ArchivedAt.ShouldBe(archivedAt);
        (await store.FindBySecretAsync(secret, Ct)).ShouldBeNull();
        (await store.FindBySecretAsync(otherSecret, Ct)).ShouldNotBeNull();
        (await store.ListProjectsAsync(Ct)).Select(p => p.Id).ShouldContain(project);
        (await store.RenameProjectAsync(NewProject("nobody"), "x", version: 2, Ct)).ShouldBeFalse();
        (await store.ArchiveProjectAsync(NewProject("nobody"), Ct)).ShouldBeFalse();
        (await store.GetProjectAsync(NewProject("nobody"), Ct)).ShouldBeNull();
    }

    [Fact]
    public async Task when_two_hosts_apply_renames_out_of_the_logs_order_then_the_later_one_stands()
    {
        var first = await OpenAsync();
        var second = await OpenAsync();
        var project = NewProject("renames");
        await first.EnsureProjectAsync(project, Ct);

        // Renamed at versions 2 and 3 of the access stream; the host of version 2 applies it last.
        (await second.RenameProjectAsync(project, "Third", version: 3, Ct)).ShouldBeTrue();
        (await first.RenameProjectAsync(project, "Second", version: 2, Ct)).ShouldBeTrue();
        (await first.GetProjectAsync(project, Ct)).ShouldNotBeNull().DisplayName.ShouldBe("Third");

        (await first.RenameProjectAsync(project, "Fourth", version: 4, Ct)).ShouldBeTrue();
        (await second.GetProjectAsync(project, Ct)).ShouldNotBeNull().DisplayName.ShouldBe("Fourth");
    }

    [Fact]
    public async Task when_one_host_archives_a_project_while_another_renames_it_then_both_changes_stand()
    {
        var clock = new HeldClock(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        var archiving = await OpenAsync(clock);
        var renaming = await OpenAsync();
        var project = NewProject("both");
        await archiving.EnsureProjectAsync(project, Ct);

        // The archive reads the time once it has what it changes in hand: the rename lands right then.
        var archived = clock.HoldNextRead(() => archiving.ArchiveProjectAsync(project, Ct));
        await clock.Reached;
        (await renaming.RenameProjectAsync(project, "Checkout agents", version: 2, Ct)).ShouldBeTrue();
        clock.Release();
        (await archived).ShouldBeTrue();

        var stored = (await renaming.GetProjectAsync(project, Ct)).ShouldNotBeNull();
        stored.DisplayName.ShouldBe("Checkout agents");
        stored.ArchivedAt.ShouldBe(clock.Now);
    }

    [Fact]
    public async Task when_one_host_revokes_a_key_while_another_brings_its_expiry_forward_then_both_changes_stand()
    {
        var clock = new HeldClock(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        var revoking = await OpenAsync(clock);
        var rotating = await OpenAsync();
        var project = NewProject("rotation");
        var (key, _) = await revoking.CreateKeyAsync(project, Scopes.All, Ct);
        var expiresAt = clock.Now.AddDays(1);

        var revoked = clock.HoldNextRead(() => revoking.RevokeKeyAsync(project, key.KeyId, Ct));
        await clock.Reached;
        (await rotating.ExpireKeyAsync(project, key.KeyId, expiresAt, Ct)).ShouldBeTrue();
        clock.Release();
        (await revoked).ShouldBeTrue();

        var stored = (await rotating.ListKeysAsync(project, Ct)).ShouldHaveSingleItem();
        stored.RevokedAt.ShouldBe(clock.Now);
        stored.ExpiresAt.ShouldBe(expiresAt);
    }

    [Fact]
    public async Task when_a_key_is_ensured_twice_then_there_is_one_key_with_the_first_scopes()
    {
        var store = await OpenAsync();
        var project = NewProject("twice");
        var secret = ApiKey.NewSecret();

        var first = await store.EnsureKeyAsync(project, secret, [Scopes.Ingest], Ct);
        var second = await store.EnsureKeyAsync(project, secret, Scopes.All, Ct);

        second.KeyId.ShouldBe(first.KeyId);
        second.Scopes.ShouldBe([Scopes.Ingest]);
        (await store.ListKeysAsync(project, Ct)).ShouldHaveSingleItem().KeyId.ShouldBe(first.KeyId);
    }

    [Fact]
    public async Task when_two_hosts_bootstrap_the_same_key_at_once_then_neither_fails_and_it_is_stored_once()
    {
        // Two stores over one empty database start together, as two processes do: the schema is created
        // concurrently too. Then both ensure the same bootstrap secret many times in parallel.
        var first = CreateStore(TimeProvider.System);
        var second = CreateStore(TimeProvider.System);
        opened.AddRange([first, second]);
        await Task.WhenAll(first.InitializeAsync(Ct), second.InitializeAsync(Ct));
        var secret = ApiKey.NewSecret();
        var project = NewProject("boot");

        // Released together, so the two stores' reads of "no such key yet" and their inserts interleave.
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var ensuring = Enumerable.Range(0, 32).Select(i => Task.Run(async () =>
        {
            await go.Task;
            return await (i % 2 == 0 ? first : second).EnsureKeyAsync(project, secret, Scopes.All, Ct);
        }, Ct)).ToList();
        go.SetResult();
        var keys = await Task.WhenAll(ensuring);

        keys.Select(k => k.KeyId).Distinct().ShouldHaveSingleItem();
        (await first.ListKeysAsync(project, Ct)).ShouldHaveSingleItem();
        (await second.FindBySecretAsync(secret, Ct)).ShouldNotBeNull().Project.ShouldBe(project);
    }

    [Fact]
    public async Task when_two_hosts_create_the_same_project_at_once_then_exactly_one_succeeds()
    {
        var first = await OpenAsync();
        var second = await OpenAsync();
        var project = NewProject("race");

        var created = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() =>
            (i % 2 == 0 ? first : second).TryCreateProjectAsync(project, Ct), Ct)));

        created.Count(c => c).ShouldBe(1);
        (await first.TryCreateProjectAsync(project, Ct)).ShouldBeFalse();
        // Ensuring an existing project is not an error.
        await second.EnsureProjectAsync(project, Ct);
    }

    [Fact]
    public async Task when_a_project_name_is_not_valid_then_ensuring_it_or_a_key_in_it_is_refused()
    {
        var store = await OpenAsync();

        await Should.ThrowAsync<ArgumentException>(() => store.EnsureProjectAsync("Not Valid", Ct));
        await Should.ThrowAsync<ArgumentException>(() => store.EnsureProjectAsync("valid-but\n", Ct));
        await Should.ThrowAsync<ArgumentException>(() => store.EnsureKeyAsync("-dash", ApiKey.NewSecret(), Scopes.All, Ct));
        (await store.AnyKeysAsync(Ct)).ShouldBeFalse();
    }

    [Fact]
    public async Task when_keys_are_listed_then_each_project_sees_its_own_oldest_first()
    {
        var clock = new FixedTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        var store = await OpenAsync(clock);
        var alpha = NewProject("alpha");
        var beta = NewProject("beta");

        var (a1, _) = await store.CreateKeyAsync(alpha, Scopes.All, Ct);
        clock.Now = clock.Now.AddMinutes(1);
        var (b1, _) = await store.CreateKeyAsync(beta, [Scopes.Read], Ct);
        clock.Now = clock.Now.AddMinutes(1);
        var (a2, _) = await store.CreateKeyAsync(alpha, [Scopes.Ingest], Ct);

        var alphaKeys = await store.ListKeysAsync(alpha, Ct);
        alphaKeys.Select(k => k.KeyId).ShouldBe([a1.KeyId, a2.KeyId]);
        alphaKeys.ShouldAllBe(k => k.Project == alpha);
        alphaKeys[1].Scopes.ShouldBe([Scopes.Ingest]);
        alphaKeys[1].CreatedAt.ShouldBe(clock.Now);
        (await store.ListKeysAsync(beta, Ct)).ShouldHaveSingleItem().KeyId.ShouldBe(b1.KeyId);
        (await store.ListKeysAsync(NewProject("nobody"), Ct)).ShouldBeEmpty();
    }

    [Fact]
    public async Task when_a_key_is_revoked_then_its_secret_no_longer_finds_it_and_the_list_says_when()
    {
        var clock = new FixedTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        var store = await OpenAsync(clock);
        var project = NewProject("revoke");
        var (key, secret) = await store.CreateKeyAsync(project, Scopes.All, Ct);
        var (other, otherSecret) = await store.CreateKeyAsync(project, [Scopes.Read], Ct);
        clock.Now = clock.Now.AddHours(1);
        var revokedAt = clock.Now;

        (await store.RevokeKeyAsync(project, key.KeyId, Ct)).ShouldBeTrue();
        clock.Now = clock.Now.AddHours(1);
        (await store.RevokeKeyAsync(project, key.KeyId, Ct)).ShouldBeTrue();

        (await store.FindBySecretAsync(secret, Ct)).ShouldBeNull();
        (await store.FindBySecretAsync(otherSecret, Ct)).ShouldNotBeNull().KeyId.ShouldBe(other.KeyId);
        var listed = await store.ListKeysAsync(project, Ct);
        listed.Single(k => k.KeyId == key.KeyId).RevokedAt.ShouldBe(revokedAt);
        listed.Single(k => k.KeyId == other.KeyId).RevokedAt.ShouldBeNull();
    }

    [Fact]
    public async Task when_a_key_of_another_project_or_an_unknown_key_is_revoked_then_nothing_changes()
    {
        var store = await OpenAsync();
        var project = NewProject("mine");
        var (key, secret) = await store.CreateKeyAsync(project, Scopes.All, Ct);

        (await store.RevokeKeyAsync(NewProject("theirs"), key.KeyId, Ct)).ShouldBeFalse();
        (await store.RevokeKeyAsync(project, "key_0000000000000000", Ct)).ShouldBeFalse();

        (await store.FindBySecretAsync(secret, Ct)).ShouldNotBeNull();
    }

    [Fact]
    public async Task when_a_revoked_secret_is_ensured_again_then_it_is_refused_not_restored()
    {
        var store = await OpenAsync();
        var project = NewProject("again");
        var secret = ApiKey.NewSecret();
        var key = await store.EnsureKeyAsync(project, secret, Scopes.All, Ct);
        await store.RevokeKeyAsync(project, key.KeyId, Ct);

        var refused = await Should.ThrowAsync<InvalidOperationException>(() => store.EnsureKeyAsync(project, secret, Scopes.All, Ct));

        refused.Message.ShouldContain("revoked");
        (await store.FindBySecretAsync(secret, Ct)).ShouldBeNull();
    }

    [Fact]
    public async Task when_the_database_is_new_then_there_are_no_keys_until_one_is_active()
    {
        var store = await OpenAsync();
        (await store.AnyKeysAsync(Ct)).ShouldBeFalse();

        var project = NewProject("any");
        var (key, _) = await store.CreateKeyAsync(project, Scopes.All, Ct);
        (await store.AnyKeysAsync(Ct)).ShouldBeTrue();

        await store.RevokeKeyAsync(project, key.KeyId, Ct);
        (await store.AnyKeysAsync(Ct)).ShouldBeFalse();
    }

    [Fact]
    public async Task when_another_store_opens_the_same_database_then_it_sees_the_projects_and_keys()
    {
        var project = NewProject("reopen");
        var (key, secret) = await (await OpenAsync()).CreateKeyAsync(project, [Scopes.Admin], Ct);

        var other = await OpenAsync();

        (await other.FindBySecretAsync(secret, Ct)).ShouldNotBeNull().KeyId.ShouldBe(key.KeyId);
        (await other.TryCreateProjectAsync(project, Ct)).ShouldBeFalse();
        (await other.ListKeysAsync(project, Ct)).ShouldHaveSingleItem().Scopes.ShouldBe([Scopes.Admin]);
    }

    /// <summary>
    /// A clock that stands still, and can hold the next read of it until released: a change that reads the time
    /// between what it read of a project or key and what it writes waits there while another host writes.
    /// </summary>
    private sealed class HeldClock(DateTimeOffset now) : TimeProvider
    {
        private readonly TaskCompletionSource reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ManualResetEventSlim released = new();
        private int holding;

        public DateTimeOffset Now { get; } = now;

        /// <summary>Completes when the held read has begun.</summary>
        public Task Reached => reached.Task;

        public Task<T> HoldNextRead<T>(Func<Task<T>> change)
        {
            Volatile.Write(ref holding, 1);
            return Task.Run(change, Ct);
        }

        public void Release() => released.Set();

        public override DateTimeOffset GetUtcNow()
        {
            if (Interlocked.Exchange(ref holding, 0) == 1)
            {
                reached.SetResult();
                released.Wait(Ct);
            }
            return Now;
        }
    }
}
