using System.Text.Json.Serialization;

namespace AgentStack.Events;

// Who changed access and when (issue 17, item 1): every administration action appends one of these to the
// project's stream `access-{project}` (AccessStream) before or as it changes the projects-and-keys read model,
// so the hash-chained log is the audit trail. They never carry a secret or its hash; `By` is the acting key's
// id ("key_…"), or "session" for the dashboard's signed-in session.

/// <summary>A project was created by an administrator.</summary>
public sealed record ProjectCreated(string Project, string By, DateTimeOffset At);

/// <summary>A project's display name changed; its id (in URLs and stream names) never does.</summary>
public sealed record ProjectRenamed(string Project, string DisplayName, string By, DateTimeOffset At);

/// <summary>A project was archived: its keys stop working, its data stays (retention decides about data).</summary>
public sealed record ProjectArchived(string Project, string By, DateTimeOffset At);

/// <summary>A key was issued: its id, the first characters of its secret (<paramref name="Prefix"/>), scopes and expiry.</summary>
public sealed record ApiKeyIssued(string Project, string KeyId, string Prefix, IReadOnlyList<string> Scopes,
    DateTimeOffset? ExpiresAt, string By, DateTimeOffset At, string? RotatedFrom = null);

/// <summary>A key was revoked: refused from <paramref name="At"/> on.</summary>
public sealed record ApiKeyRevoked(string Project, string KeyId, string By, DateTimeOffset At);

/// <summary>A key was rotated: <paramref name="NewKeyId"/> replaces it; the old key works until <paramref name="OldKeyExpiresAt"/>.</summary>
public sealed record ApiKeyRotated(string Project, string KeyId, string NewKeyId, DateTimeOffset OldKeyExpiresAt, string By, DateTimeOffset At);

/// <summary>Stored names of the access events (registered in <see cref="EventTypes"/>); never renamed.</summary>
public static class AccessEventTypes
{
    public const string ProjectCreated = "project.created.v1";
    public const string ProjectRenamed = "project.renamed.v1";
    public const string ProjectArchived = "project.archived.v1";
    public const string ApiKeyIssued = "apikey.issued.v1";
    public const string ApiKeyRevoked = "apikey.revoked.v1";
    public const string ApiKeyRotated = "apikey.rotated.v1";
}

/// <summary>One stream per project for its access history.</summary>
public static class AccessStream
{
    public static string Name(string project) => $"access-{project}";
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(UtcMicrosecondsConverter)])]
[JsonSerializable(typeof(ProjectCreated))]
[JsonSerializable(typeof(ProjectRenamed))]
[JsonSerializable(typeof(ProjectArchived))]
[JsonSerializable(typeof(ApiKeyIssued))]
[JsonSerializable(typeof(ApiKeyRevoked))]
[JsonSerializable(typeof(ApiKeyRotated))]
public sealed partial class AccessEventJsonContext : JsonSerializerContext;
