using System.Security.Claims;
using System.Text.Json;
using AgentStack.Events;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace AgentStack.Access.Administering;

public sealed record CreateProject(string? Name, string? DisplayName = null);

public sealed record RenameProject(string? DisplayName);

public sealed record CreateKey(IReadOnlyList<string>? Scopes, string? ExpiresAt = null);

public sealed record RotateKey(int? OverlapSeconds = null, string? ExpiresAt = null);

/// <summary>A new key: <paramref name="Secret"/> is shown in this answer only; the server keeps a keyed hash.</summary>
public sealed record CreatedKey(string Project, string KeyId, IReadOnlyList<string> Scopes, string Secret,
    string Prefix, DateTimeOffset? ExpiresAt, string? RotatedFrom = null, DateTimeOffset? OldKeyExpiresAt = null);

/// <summary>A stored key as listed: its prefix, never its secret (which the server does not have).</summary>
public sealed record KeySummary(string KeyId, IReadOnlyList<string> Scopes, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt,
    string Prefix, DateTimeOffset? ExpiresAt, string State);

public sealed record ProjectSummary(string Project, string DisplayName, DateTimeOffset CreatedAt, DateTimeOffset? ArchivedAt);

/// <summary>One access event of the project's stream, as stored (its data is the event's JSON).</summary>
public sealed record AccessHistoryEntry(long Version, long Position, string Type, DateTimeOffset RecordedAt, string Hash, JsonElement Data);

/// <summary>
/// Projects and keys administration (issue 17, item 1; docs/administration.md), admin scope. Admin keys of project
/// <c>default</c> (the operator's) create and list projects and may rename or archive any; an admin key of a
/// project manages that project and its keys. Another project's key gets 404, as on the read API. Every change
/// is appended to the log (<see cref="AccessLog"/>) and applied to the read model that authentication uses.
/// </summary>
public static class AdministrationEndpoints
{
    public const int DefaultOverlapSeconds = 3600;
    public const int MaxOverlapSeconds = 30 * 24 * 3600;

    public static RouteGroupBuilder MapAccess(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/projects").WithTags("Projects and keys").RequireAuthorization(Scopes.Admin);
        group.MapPost("/", CreateProjectAsync).WithName("CreateProject")
            .WithSummary("Create a project with a first key (ingest, read, admin); needs an admin key of project 'default'");
        group.MapGet("/", ListProjectsAsync).WithName("ListProjects")
            .WithSummary("Projects: all of them for an admin key of 'default', else the key's own");
        group.MapPatch("/{project}", RenameProjectAsync).WithName("RenameProject")
            .WithSummary("Change a project's display name (its id never changes)");
        group.MapPost("/{project}/archive", ArchiveProjectAsync).WithName("ArchiveProject")
            .WithSummary("Archive a project: its keys are refused from now on; its data stays");
        group.MapPost("/{project}/keys", CreateKeyAsync).WithName("CreateKey")
            .WithSummary("Issue a key with the given scopes and optional expiry; the secret is shown only in this answer");
        group.MapGet("/{project}/keys", ListKeysAsync).WithName("ListKeys")
            .WithSummary("The project's keys (id, prefix, scopes, created, expiry, revoked; never secrets)");
        group.MapDelete("/{project}/keys/{keyId}", RevokeKeyAsync).WithName("RevokeKey")
            .WithSummary("Revoke a key: refused at once on this host, within 30 s on others (their lookup cache)");
        group.MapPost("/{project}/keys/{keyId}/rotate", RotateKeyAsync).WithName("RotateKey")
            .WithSummary("Issue a replacement key with the same scopes; the old key keeps working for the overlap (overlapSeconds, default 3600)");
        group.MapGet("/{project}/access/history", HistoryAsync).WithName("GetAccessHistory")
            .WithSummary("Who changed the project's access and when: its access events from the log, oldest first");
        return group;
    }

    private static string Actor(ClaimsPrincipal user) => user.FindFirstValue(ApiKeyClaims.KeyId) ?? "unknown";

    private static ValidationProblem Invalid(string field, string message) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [message] });

    private static async Task<Results<Created<CreatedKey>, ValidationProblem, ForbidHttpResult, Conflict<string>>> CreateProjectAsync(
        CreateProject request, HttpContext http, IAccessStore access, AccessLog log, TimeProvider clock, CancellationToken ct)
    {
        if (!http.User.IsOperator())
            return TypedResults.Forbid();
        if (request.Name is not { } name || !ProjectNames.IsValid(name))
            return Invalid("name", "name must be 1-63 characters: lower-case letters, digits, '-' or '_', starting with a letter or digit");
        if (request.DisplayName is { } displayName && !IsValidDisplayName(displayName))
            return Invalid("displayName", "displayName must be 1-100 characters");
        if (await access.GetProjectAsync(name, ct) is not null)
            return TypedResults.Conflict($"Project '{name}' exists already.");
        var by = Actor(http.User);
        try
        {
            // The stream must not exist: of two hosts creating one project at once, exactly one records it.
            await log.AppendAsync(name, new ProjectCreated(name, by, clock.GetUtcNow()), ct, StreamAppend.NoStream);
        }
        catch (WrongExpectedVersionException)
        {
            return TypedResults.Conflict($"Project '{name}' exists already.");
        }
        await access.TryCreateProjectAsync(name, ct);
        if (request.DisplayName is { } initial)
        {
            // Right after project.created.v1 (version 1), held like a rename; a rename another host sent as soon as the
            // project existed, recorded first, stands instead, as it would had it come after.
            using (await log.HoldAsync(name, ct))
            {
                try
                {
                    await log.AppendAsync(name, new ProjectRenamed(name, initial, by, clock.GetUtcNow()), ct, expectedVersion: 1);
                    await access.RenameProjectAsync(name, initial, version: 2, ct);
                }
                catch (WrongExpectedVersionException)
                {
                }
            }
        }
        var created = await IssueAsync(access, log, clock, name, Scopes.All, null, by, null, ct);
        return TypedResults.Created($"/api/projects/{name}", created);
    }

    private static async Task<Ok<List<ProjectSummary>>> ListProjectsAsync(HttpContext http, IAccessStore access, CancellationToken ct)
    {
        var projects = await access.ListProjectsAsync(ct);
        var (own, _) = http.User.ApiKey();
        return TypedResults.Ok(projects.Where(p => http.User.IsOperator() || p.Id == own)
            .Select(p => new ProjectSummary(p.Id, p.DisplayName, p.CreatedAt, p.ArchivedAt)).ToList());
    }

    /// <summary>
    /// The log, then the read model, so the display name the store ends with is the last <c>project.renamed.v1</c>:
    /// renames in this process are held one at a time across both writes; the append expects the stream's version read
    /// just before, so an access event appended meanwhile (another host's rename, a key) answers 409 (send the rename
    /// again); and the store takes the name with the version it was appended at, so another host's rename applied late
    /// never overwrites a later one.
    /// </summary>
    private static async Task<Results<Ok<ProjectSummary>, ValidationProblem, NotFound, Conflict<string>>> RenameProjectAsync(
        string project, RenameProject request, HttpContext http, IAccessStore access, AccessLog log, TimeProvider clock, CancellationToken ct)
    {
        if (!http.User.CanAdminister(project) || await access.GetProjectAsync(project, ct) is null)
            return TypedResults.NotFound();
        if (request.DisplayName is not { } displayName || !IsValidDisplayName(displayName))
            return Invalid("displayName", "displayName must be 1-100 characters");
        using (await log.HoldAsync(project, ct))
        {
            var version = await log.VersionAsync(project, ct);
            try
            {
                await log.AppendAsync(project, new ProjectRenamed(project, displayName, Actor(http.User), clock.GetUtcNow()), ct, version);
            }
            catch (WrongExpectedVersionException)
            {
                return TypedResults.Conflict($"Project '{project}' changed meanwhile; send the rename again.");
            }
            await access.RenameProjectAsync(project, displayName, version + 1, ct);
        }
        var renamed = (await access.GetProjectAsync(project, ct))!;
        return TypedResults.Ok(new ProjectSummary(renamed.Id, renamed.DisplayName, renamed.CreatedAt, renamed.ArchivedAt));
    }

    private static async Task<Results<Ok<ProjectSummary>, ValidationProblem, NotFound>> ArchiveProjectAsync(
        string project, HttpContext http, IAccessStore access, AccessLog log, TimeProvider clock, CancellationToken ct)
    {
        if (!http.User.CanAdminister(project) || await access.GetProjectAsync(project, ct) is not { } found)
            return TypedResults.NotFound();
        if (project == AccessBootstrap.DefaultProject)
            return Invalid("project", "project 'default' holds the operator's keys and cannot be archived");
        if (found.ArchivedAt is null)
        {
            await access.ArchiveProjectAsync(project, ct);
            await log.AppendAsync(project, new ProjectArchived(project, Actor(http.User), clock.GetUtcNow()), ct);
        }
        var archived = (await access.GetProjectAsync(project, ct))!;
        return TypedResults.Ok(new ProjectSummary(archived.Id, archived.DisplayName, archived.CreatedAt, archived.ArchivedAt));
    }

    private static async Task<Results<Created<CreatedKey>, ValidationProblem, NotFound, Conflict<string>>> CreateKeyAsync(
        string project, CreateKey request, HttpContext http, IAccessStore access, AccessLog log, TimeProvider clock, CancellationToken ct)
    {
        if (!http.User.CanAccess(project))
            return TypedResults.NotFound();
        var scopes = request.Scopes ?? [];
        if (scopes.Count == 0 || scopes.Any(s => !Scopes.All.Contains(s, StringComparer.Ordinal)))
            return Invalid("scopes", $"scopes must name one or more of {string.Join(", ", Scopes.All)}");
        if (!TryParseExpiry(request.ExpiresAt, clock, out var expiresAt, out var problem))
            return problem!;
        if (await access.GetProjectAsync(project, ct) is { ArchivedAt: not null })
            return TypedResults.Conflict($"Project '{project}' is archived.");
        var created = await IssueAsync(access, log, clock, project, [.. scopes.Distinct(StringComparer.Ordinal)], expiresAt,
            Actor(http.User), null, ct);
        return TypedResults.Created($"/api/projects/{project}/keys/{created.KeyId}", created);
    }

    private static async Task<Results<Ok<List<KeySummary>>, NotFound>> ListKeysAsync(
        string project, HttpContext http, IAccessStore access, TimeProvider clock, CancellationToken ct)
    {
        if (!http.User.CanAccess(project))
            return TypedResults.NotFound();
        var now = clock.GetUtcNow();
        var keys = await access.ListKeysAsync(project, ct);
        return TypedResults.Ok(keys.Select(k => new KeySummary(k.KeyId, k.Scopes, k.CreatedAt, k.RevokedAt, k.Prefix, k.ExpiresAt,
            k.RevokedAt is not null ? "revoked" : k.IsActiveAt(now) ? "active" : "expired")).ToList());
    }

    /// <summary>
    /// The read model first, then the log: a revocation must take effect even when the log cannot record it
    /// (the exception then answers 503, and repeating the call records it).
    /// </summary>
    private static async Task<Results<NoContent, NotFound>> RevokeKeyAsync(
        string project, string keyId, HttpContext http, IAccessStore access, AccessLog log, TimeProvider clock, CancellationToken ct)
    {
        if (!http.User.CanAccess(project))
            return TypedResults.NotFound();
        var before = (await access.ListKeysAsync(project, ct)).FirstOrDefault(k => k.KeyId == keyId);
        if (before is null || !await access.RevokeKeyAsync(project, keyId, ct))
            return TypedResults.NotFound();
        if (before.RevokedAt is null)
            await log.AppendAsync(project, new ApiKeyRevoked(project, keyId, Actor(http.User), clock.GetUtcNow()), ct);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Created<CreatedKey>, ValidationProblem, NotFound, Conflict<string>>> RotateKeyAsync(
        string project, string keyId, RotateKey? request, HttpContext http, IAccessStore access, AccessLog log, TimeProvider clock,
        CancellationToken ct)
    {
        if (!http.User.CanAccess(project))
            return TypedResults.NotFound();
        var overlap = request?.OverlapSeconds ?? DefaultOverlapSeconds;
        if (overlap is < 0 or > MaxOverlapSeconds)
            return Invalid("overlapSeconds", $"overlapSeconds must be 0 to {MaxOverlapSeconds} (30 days)");
        if (!TryParseExpiry(request?.ExpiresAt, clock, out var expiresAt, out var problem))
            return problem!;
        var old = (await access.ListKeysAsync(project, ct)).FirstOrDefault(k => k.KeyId == keyId);
        if (old is null)
            return TypedResults.NotFound();
        var now = clock.GetUtcNow();
        if (!old.IsActiveAt(now))
            return TypedResults.Conflict($"Key {keyId} is revoked or expired; issue a new key instead.");
        var by = Actor(http.User);
        var created = await IssueAsync(access, log, clock, project, old.Scopes, expiresAt, by, keyId, ct);
        var oldExpires = now.AddSeconds(overlap);
        await access.ExpireKeyAsync(project, keyId, oldExpires, ct);
        var effective = (await access.ListKeysAsync(project, ct)).First(k => k.KeyId == keyId).ExpiresAt ?? oldExpires;
        await log.AppendAsync(project, new ApiKeyRotated(project, keyId, created.KeyId, effective, by, now), ct);
        return TypedResults.Created($"/api/projects/{project}/keys/{created.KeyId}", created with { OldKeyExpiresAt = effective });
    }

    private static async Task<Results<Ok<List<AccessHistoryEntry>>, NotFound>> HistoryAsync(
        string project, HttpContext http, AccessLog log, CancellationToken ct)
    {
        if (!http.User.CanAccess(project))
            return TypedResults.NotFound();
        var entries = new List<AccessHistoryEntry>();
        await foreach (var stored in log.ReadAsync(project, ct))
        {
            using var data = JsonDocument.Parse(stored.Data);
            entries.Add(new AccessHistoryEntry(stored.Version, stored.Position, stored.Type, stored.RecordedAt, stored.Hash, data.RootElement.Clone()));
        }
        return TypedResults.Ok(entries);
    }

    /// <summary>
    /// Stores the key, then records it. Should the log refuse, the key is revoked before the error answers
    /// (503), so no key exists that the audit trail does not show.
    /// </summary>
    private static async Task<CreatedKey> IssueAsync(IAccessStore access, AccessLog log, TimeProvider clock, string project,
        IReadOnlyList<string> scopes, DateTimeOffset? expiresAt, string by, string? rotatedFrom, CancellationToken ct)
    {
        var (key, secret) = await access.CreateKeyAsync(project, scopes, ct, expiresAt);
        try
        {
            await log.AppendAsync(project, new ApiKeyIssued(project, key.KeyId, key.Prefix, key.Scopes, key.ExpiresAt, by,
                clock.GetUtcNow(), rotatedFrom), ct);
        }
        catch
        {
            await access.RevokeKeyAsync(project, key.KeyId, CancellationToken.None);
            throw;
        }
        return new CreatedKey(project, key.KeyId, key.Scopes, secret, key.Prefix, key.ExpiresAt, rotatedFrom);
    }

    private static bool TryParseExpiry(string? value, TimeProvider clock, out DateTimeOffset? expiresAt, out ValidationProblem? problem)
    {
        expiresAt = null;
        problem = null;
        if (value is null)
            return true;
        if (!Rfc3339.TryParse(value, out var parsed) || parsed <= clock.GetUtcNow())
        {
            problem = Invalid("expiresAt", "expiresAt must be a future RFC 3339 time such as 2027-01-31T12:00:00Z");
            return false;
        }
        expiresAt = parsed;
        return true;
    }

    private static bool IsValidDisplayName(string name) => name.Trim().Length is > 0 and <= 100 && !name.Any(char.IsControl);
}
