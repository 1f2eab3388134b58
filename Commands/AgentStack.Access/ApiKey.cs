using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;

namespace AgentStack.Access;

/// <summary>The scopes a key can carry (docs/architecture.md, invariant 6). Also the authorization policy names.</summary>
public static class Scopes
{
    public const string Ingest = "ingest";
    public const string Read = "read";
    public const string Admin = "admin";

    public static readonly IReadOnlyList<string> All = [Ingest, Read, Admin];
}

/// <summary>
/// A key as stored: never its secret, only a keyed hash of it (<see cref="SecretHasher"/>) and its first
/// characters (<paramref name="Prefix"/>) so people can tell keys apart. <paramref name="RevokedAt"/> is set once
/// revoked; a key with <paramref name="ExpiresAt"/> is refused from then on (issue 17: expiry, rotation overlap).
/// </summary>
public sealed record ApiKey(string KeyId, string Project, IReadOnlyList<string> Scopes, DateTimeOffset CreatedAt,
    DateTimeOffset? RevokedAt = null, DateTimeOffset? ExpiresAt = null, string Prefix = "")
{
    /// <summary>How many characters of a secret are kept and shown: <c>ask_</c> and 8 of its 43 random characters.</summary>
    public const int PrefixLength = 12;

    public bool Has(string scope) => Scopes.Contains(scope, StringComparer.Ordinal);

    /// <summary>Neither revoked nor expired at <paramref name="now"/>.</summary>
    public bool IsActiveAt(DateTimeOffset now) => RevokedAt is null && (ExpiresAt is null || now < ExpiresAt);

    /// <summary>
    /// An unkeyed SHA-256 of a secret: only an in-memory cache key (<see cref="CachingAccessStore"/>) and the
    /// hash keys had before issue 17, still matched once so such keys keep working; never stored for new keys.
    /// </summary>
    public static string HashSecret(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    public static string PrefixOf(string secret) => secret.Length <= PrefixLength ? "" : secret[..PrefixLength];

    public static string NewSecret() => "ask_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))
        .TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>A project as stored: its id never changes; its display name may; archived projects' keys are refused.</summary>
public sealed record Project(string Id, string DisplayName, DateTimeOffset CreatedAt, DateTimeOffset? ArchivedAt = null);

/// <summary>
/// Keys are stored as HMAC-SHA256 of the secret under a server-side pepper (issue 17): a copy of the database
/// alone cannot confirm a guessed key, which matters for chosen keys such as the bootstrap key (generated
/// keys are 256-bit random and cannot be guessed anyway). HMAC rather than a slow hash because every request
/// authenticates. The pepper comes from <c>AgentStack:Access:Pepper</c>; without it each store keeps its own
/// (a file beside the SQLite database, a row in the Marten schema).
/// </summary>
public sealed class SecretHasher
{
    private readonly byte[] pepper;

    public SecretHasher(byte[] pepper)
    {
        ArgumentNullException.ThrowIfNull(pepper);
        if (pepper.Length < 16)
            throw new ArgumentException("The pepper must be at least 16 bytes.", nameof(pepper));
        this.pepper = pepper;
    }

    /// <summary>A configured pepper: its UTF-8 bytes (at least 16).</summary>
    public static SecretHasher FromConfigured(string pepper) => new(Encoding.UTF8.GetBytes(pepper));

    public static byte[] NewPepper() => RandomNumberGenerator.GetBytes(32);

    public string Hash(string secret) => Convert.ToHexStringLower(HMACSHA256.HashData(pepper, Encoding.UTF8.GetBytes(secret)));

    /// <summary>
    /// Compares a stored hash with the hash of a presented secret in constant time. Rows are found by an index
    /// on the hash, whose timing reveals nothing an attacker can steer (they cannot choose HMAC outputs);
    /// this final comparison keeps the check itself free of early exits.
    /// </summary>
    public static bool Matches(string storedHash, string presentedHash) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(storedHash), Encoding.ASCII.GetBytes(presentedHash));

    /// <summary>The pepper file beside a SQLite database: read it, or create it (owner-only) on first start.</summary>
    public static byte[] LoadOrCreatePepperFile(string path)
    {
        if (File.Exists(path))
            return Convert.FromBase64String(File.ReadAllText(path).Trim());
        var pepper = NewPepper();
        var temporary = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        File.WriteAllText(temporary, Convert.ToBase64String(pepper));
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        try
        {
            // Two processes starting on one data directory: the first file wins, the other reads it.
            File.Move(temporary, path, overwrite: false);
        }
        catch (IOException) when (File.Exists(path))
        {
            File.Delete(temporary);
        }
        return Convert.FromBase64String(File.ReadAllText(path).Trim());
    }
}

public static class ApiKeyClaims
{
    public const string Project = "agentstack:project";
    public const string KeyId = "agentstack:key";
    public const string Scope = "agentstack:scope";

    public static ClaimsPrincipal ToPrincipal(ApiKey key, string scheme)
    {
        var claims = new List<Claim> { new(Project, key.Project), new(KeyId, key.KeyId), new(ClaimTypes.Name, key.KeyId) };
        claims.AddRange(key.Scopes.Select(s => new Claim(Scope, s)));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, scheme));
    }

    /// <summary>The authenticated key of the request; endpoints behind a scope policy always have one.</summary>
    public static (string Project, string KeyId) ApiKey(this ClaimsPrincipal user) =>
        (user.FindFirstValue(Project) ?? throw new InvalidOperationException("The request carries no project key."),
         user.FindFirstValue(KeyId) ?? throw new InvalidOperationException("The request carries no project key."));

    /// <summary>True when the key belongs to <paramref name="project"/>: a key never reaches another project's data.</summary>
    public static bool CanAccess(this ClaimsPrincipal user, string project) =>
        string.Equals(user.FindFirstValue(Project), project, StringComparison.Ordinal);

    /// <summary>An admin key of project <c>default</c>: the deployment's operator (<see cref="Policies.Operator"/>).</summary>
    public static bool IsOperator(this ClaimsPrincipal user) =>
        user.CanAccess(AccessBootstrap.DefaultProject) && user.HasClaim(Scope, Scopes.Admin);

    /// <summary>
    /// True for the project's own keys and for the operator's. The operator administers a project its keys can no longer
    /// reach: archiving refuses them, and its data stays until retention or erasure removes it (docs/administration.md).
    /// The caller still checks that the project exists.
    /// </summary>
    public static bool CanAdminister(this ClaimsPrincipal user, string project) => user.CanAccess(project) || user.IsOperator();
}
