using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;

namespace AgentStack.Access;

/// <summary>The scopes a key can carry (ARCHITECTURE.md, invariant 6). Also the authorization policy names.</summary>
public static class Scopes
{
    public const string Ingest = "ingest";
    public const string Read = "read";
    public const string Admin = "admin";

    public static readonly IReadOnlyList<string> All = [Ingest, Read, Admin];
}

/// <summary>A key as stored: only the SHA-256 of its secret is kept. <paramref name="RevokedAt"/> is set once revoked.</summary>
public sealed record ApiKey(string KeyId, string Project, IReadOnlyList<string> Scopes, DateTimeOffset CreatedAt,
    DateTimeOffset? RevokedAt = null)
{
    public bool Has(string scope) => Scopes.Contains(scope, StringComparer.Ordinal);

    /// <summary>
    /// Keys are 256-bit random secrets, so a plain SHA-256 is enough to make a stolen table useless;
    /// a slow password hash would only cost every request.
    /// </summary>
    public static string HashSecret(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    public static string NewSecret() => "ask_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))
        .TrimEnd('=').Replace('+', '-').Replace('/', '_');
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
}
