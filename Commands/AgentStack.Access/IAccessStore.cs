using System.Text.RegularExpressions;

namespace AgentStack.Access;

/// <summary>
/// Projects and their keys (docs/architecture.md invariant 6): the port every host authenticates through.
/// The embedded default keeps them in SQLite (<see cref="SqliteAccessStore"/>); the distributed topology
/// keeps them as Marten documents in PostgreSQL so every process sees the same projects and keys
/// (issue 4). Only a keyed hash of a secret is ever stored (<see cref="SecretHasher"/>). These are the read
/// models of the access events (<c>project.created.v1</c>, <c>apikey.issued.v1</c>, …) that the administration
/// API appends to the log (docs/administration.md); authentication reads only these.
/// </summary>
public interface IAccessStore
{
    /// <summary>Creates the tables or documents' storage when missing; safe to call from several processes at once.</summary>
    Task InitializeAsync(CancellationToken ct);

    /// <summary>Creates the project unless it exists; refuses a name that <see cref="ProjectNames.IsValid"/> refuses.</summary>
    Task EnsureProjectAsync(string project, CancellationToken ct);

    /// <summary>Creates the project; false when it exists already.</summary>
    Task<bool> TryCreateProjectAsync(string project, CancellationToken ct);

    /// <summary>
    /// Stores a key for <paramref name="secret"/> in <paramref name="project"/> (created when missing) unless a
    /// key with that secret exists; returns the stored key. Idempotent, also when several hosts call it with the
    /// same secret at once (the bootstrap key). A revoked secret is never brought back: that throws.
    /// <paramref name="expiresAt"/>: refused from then on (null: until revoked).
    /// </summary>
    Task<ApiKey> EnsureKeyAsync(string project, string secret, IReadOnlyList<string> scopes, DateTimeOffset? expiresAt, CancellationToken ct);

    /// <summary>Brings the key's expiry forward to <paramref name="at"/> (never later than it is); false when the project has no such key.</summary>
    Task<bool> ExpireKeyAsync(string project, string keyId, DateTimeOffset at, CancellationToken ct);

    /// <summary>The project, archived or not; null when unknown.</summary>
    Task<Project?> GetProjectAsync(string project, CancellationToken ct);

    /// <summary>Every project, archived ones included, by id.</summary>
    Task<IReadOnlyList<Project>> ListProjectsAsync(CancellationToken ct);

    /// <summary>
    /// Sets the project's display name from the <c>project.renamed.v1</c> at <paramref name="version"/> of its access
    /// stream, unless a rename at a later version was applied already (hosts apply theirs in any order, and the store
    /// ends with the log's last); false when unknown.
    /// </summary>
    Task<bool> RenameProjectAsync(string project, string displayName, long version, CancellationToken ct);

    /// <summary>Archives the project (its keys are refused from now on); false when unknown; archiving twice keeps the first time.</summary>
    Task<bool> ArchiveProjectAsync(string project, CancellationToken ct);

    /// <summary>True when any key is neither revoked nor expired.</summary>
    Task<bool> AnyKeysAsync(CancellationToken ct);

    /// <summary>The active key with this secret, or null when it is unknown, revoked, expired or its project archived.</summary>
    Task<ApiKey?> FindBySecretAsync(string secret, CancellationToken ct);

    /// <summary>The project's keys, revoked ones included, oldest first; empty for an unknown project.</summary>
    Task<IReadOnlyList<ApiKey>> ListKeysAsync(string project, CancellationToken ct);

    /// <summary>Revokes the key; false when <paramref name="project"/> has no key <paramref name="keyId"/>. Revoking twice is true.</summary>
    Task<bool> RevokeKeyAsync(string project, string keyId, CancellationToken ct);
}

public static partial class ProjectNames
{
    public static bool IsValid(string name) => Pattern().IsMatch(name);

    public static void ThrowIfInvalid(string project)
    {
        if (!IsValid(project))
            throw new ArgumentException($"Project name '{project}' must be 1-63 lower-case letters, digits, '-' or '_'.", nameof(project));
    }

    // \z, not $: $ also matches before a final line feed, so "abc\n" passed and made a project whose URL no answer can carry.
    [GeneratedRegex(@"^[a-z0-9][a-z0-9_-]{0,62}\z")]
    private static partial Regex Pattern();
}

public static class AccessStoreExtensions
{
    /// <summary>Creates a new key with a fresh secret; the secret is returned once and never stored.</summary>
    public static async Task<(ApiKey Key, string Secret)> CreateKeyAsync(this IAccessStore access, string project,
        IReadOnlyList<string> scopes, CancellationToken ct, DateTimeOffset? expiresAt = null)
    {
        ArgumentNullException.ThrowIfNull(access);
        var secret = ApiKey.NewSecret();
        return (await access.EnsureKeyAsync(project, secret, scopes, expiresAt, ct), secret);
    }

    /// <summary>A key without expiry (the bootstrap key, and the form every caller used before issue 17).</summary>
    public static Task<ApiKey> EnsureKeyAsync(this IAccessStore access, string project, string secret,
        IReadOnlyList<string> scopes, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(access);
        return access.EnsureKeyAsync(project, secret, scopes, null, ct);
    }

    /// <summary>The id a key gets from its secret's keyed hash, the same in every store with the same pepper, so two hosts storing one secret agree on it.</summary>
    public static string KeyIdFor(string secretHash) => "key_" + secretHash[..16];
}
