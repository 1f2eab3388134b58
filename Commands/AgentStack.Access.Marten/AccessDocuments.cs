namespace AgentStack.Access.Marten;

/// <summary>A project as a Marten document; its id is the project name.</summary>
public sealed class ProjectDocument
{
    public string Id { get; set; } = "";

    public DateTimeOffset CreatedAt { get; set; }

    public string? DisplayName { get; set; }

    /// <summary>The access stream's version of the <c>project.renamed.v1</c> that set <see cref="DisplayName"/> (0: none).</summary>
    public long DisplayNameVersion { get; set; }

    public DateTimeOffset? ArchivedAt { get; set; }
}

/// <summary>
/// The pepper of the keyed secret hash when <c>AgentStack:Access:Pepper</c> is not configured (issue 17): one per
/// schema, so every host of the distributed topology hashes alike. A configured pepper keeps the database alone
/// from confirming guessed keys; this fallback only keeps a deployment without one working.
/// </summary>
public sealed class AccessPepperDocument
{
    public string Id { get; set; } = "pepper";

    public string Value { get; set; } = "";
}

/// <summary>
/// A key as a Marten document: the keyed hash of its secret (unique), never the secret (docs/architecture.md
/// invariant 6). Its id derives from that hash, as in the SQLite store, so two hosts storing one secret
/// write the same document and the second insert conflicts instead of duplicating it.
/// </summary>
public sealed class ApiKeyDocument
{
    public string Id { get; set; } = "";

    public string Project { get; set; } = "";

    public string SecretHash { get; set; } = "";

    public List<string> Scopes { get; set; } = [];

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? RevokedAt { get; set; }

    public DateTimeOffset? ExpiresAt { get; set; }

    public string? Prefix { get; set; }
}
