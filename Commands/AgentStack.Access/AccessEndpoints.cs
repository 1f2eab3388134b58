using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace AgentStack.Access;

public sealed record CreateProject(string? Name);

public sealed record CreateKey(IReadOnlyList<string>? Scopes);

/// <summary>A new key: <paramref name="Secret"/> is shown in this answer only; the server keeps its hash.</summary>
public sealed record CreatedKey(string Project, string KeyId, IReadOnlyList<string> Scopes, string Secret);

/// <summary>A stored key as listed: never its secret, which the server does not have.</summary>
public sealed record KeySummary(string KeyId, IReadOnlyList<string> Scopes, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

/// <summary>
/// The minimum of project administration (issue 3, item 8). Admin keys of project <c>default</c> (the
/// operator's, from the bootstrap) create projects; an admin key of a project creates keys for it.
/// </summary>
public static class AccessEndpoints
{
    public static RouteGroupBuilder MapAccess(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/projects").WithTags("Projects and keys").RequireAuthorization(Scopes.Admin);
        group.MapPost("/", CreateProjectAsync).WithName("CreateProject")
            .WithSummary("Create a project with a first key (ingest, read, admin); needs an admin key of project 'default'");
        group.MapPost("/{project}/keys", CreateKeyAsync).WithName("CreateKey")
            .WithSummary("Create a key for this project with the given scopes; needs an admin key of the project");
        group.MapGet("/{project}/keys", ListKeysAsync).WithName("ListKeys")
            .WithSummary("The project's keys (ids, scopes, when created and revoked; never secrets); needs an admin key of the project");
        group.MapDelete("/{project}/keys/{keyId}", RevokeKeyAsync).WithName("RevokeKey")
            .WithSummary("Revoke a key of this project; other hosts stop accepting it within 30 s (their lookup cache); needs an admin key of the project");
        return group;
    }

    private static async Task<Results<Created<CreatedKey>, ValidationProblem, ForbidHttpResult, Conflict<string>>> CreateProjectAsync(
        CreateProject request, HttpContext http, IAccessStore access, CancellationToken ct)
    {
        if (!http.User.CanAccess(AccessBootstrap.DefaultProject))
            return TypedResults.Forbid();
        if (request.Name is not { } name || !ProjectNames.IsValid(name))
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["name"] = ["name must be 1-63 characters: lower-case letters, digits, '-' or '_', starting with a letter or digit"],
            });
        if (!await access.TryCreateProjectAsync(name, ct))
            return TypedResults.Conflict($"Project '{name}' exists already.");
        var (key, secret) = await access.CreateKeyAsync(name, Scopes.All, ct);
        return TypedResults.Created($"/api/projects/{name}", new CreatedKey(name, key.KeyId, key.Scopes, secret));
    }

    private static async Task<Results<Created<CreatedKey>, ValidationProblem, NotFound>> CreateKeyAsync(
        string project, CreateKey request, HttpContext http, IAccessStore access, CancellationToken ct)
    {
        if (!http.User.CanAccess(project))
            return TypedResults.NotFound();
        var scopes = request.Scopes ?? [];
        if (scopes.Count == 0 || scopes.Any(s => !Scopes.All.Contains(s, StringComparer.Ordinal)))
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["scopes"] = [$"scopes must name one or more of {string.Join(", ", Scopes.All)}"],
            });
        var (key, secret) = await access.CreateKeyAsync(project, scopes.Distinct(StringComparer.Ordinal).ToList(), ct);
        return TypedResults.Created($"/api/projects/{project}/keys/{key.KeyId}", new CreatedKey(project, key.KeyId, key.Scopes, secret));
    }

    private static async Task<Results<Ok<List<KeySummary>>, NotFound>> ListKeysAsync(
        string project, HttpContext http, IAccessStore access, CancellationToken ct)
    {
        if (!http.User.CanAccess(project))
            return TypedResults.NotFound();
        var keys = await access.ListKeysAsync(project, ct);
        return TypedResults.Ok(keys.Select(k => new KeySummary(k.KeyId, k.Scopes, k.CreatedAt, k.RevokedAt)).ToList());
    }

    private static async Task<Results<NoContent, NotFound>> RevokeKeyAsync(
        string project, string keyId, HttpContext http, IAccessStore access, CancellationToken ct) =>
        http.User.CanAccess(project) && await access.RevokeKeyAsync(project, keyId, ct)
            ? TypedResults.NoContent()
            : TypedResults.NotFound();
}
