namespace AgentStack.Access.Marten;

/// <summary>A project as a Marten document; its id is the project name.</summary>
public sealed class ProjectDocument
{
    public string Id { get; set; } = "";

    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>
/// A key as a Marten document: the SHA-256 of its secret (unique), never the secret (ARCHITECTURE.md
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
}
