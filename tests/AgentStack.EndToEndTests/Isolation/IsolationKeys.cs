using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AgentStack.Testing;
using static AgentStack.Testing.Spans;

namespace AgentStack.EndToEndTests.Isolation;

internal sealed record ProjectMade(string Project, string Secret);

internal sealed record KeyMade(string KeyId, string Secret);

/// <summary>Project A's keys that must be refused: revoked, expired, and one lacking each scope.</summary>
internal sealed record RefusedKeys(KeyMade Revoked, KeyMade Expired, IReadOnlyDictionary<Requires, KeyMade> Lacking);

/// <summary>The projects and keys both isolation matrices (HTTP and gRPC) call with, made through the admin API.</summary>
internal static class IsolationKeys
{
    public static readonly string[] AllScopes = ["ingest", "read", "admin"];

    private static Uri Path(string path) => new(path, UriKind.Relative);

    public static async Task<ProjectMade> ProjectAsync(ServerProcess server, string name)
    {
        using var response = await server.Client.PostAsJsonAsync(Path("/api/projects"), new { name });
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return new ProjectMade(name, (await response.Content.ReadFromJsonAsync<JsonObject>())!["secret"]!.GetValue<string>());
    }

    public static async Task<KeyMade> KeyAsync(HttpClient admin, string project, string[] scopes, DateTimeOffset? expiresAt)
    {
        using var response = await admin.PostAsJsonAsync(Path($"/api/projects/{project}/keys"),
            new { scopes, expiresAt = expiresAt is { } e ? Time(e) : null });
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var created = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        return new KeyMade(created["keyId"]!.GetValue<string>(), created["secret"]!.GetValue<string>());
    }

    /// <summary>
    /// A revoked key, a key that expires 2 s after it is made (returned once the server refuses it), and per scope a
    /// key holding every other one (the operator needs the admin scope too: the admin-less key lacks it).
    /// </summary>
    public static async Task<RefusedKeys> RefusedKeysAsync(ServerProcess server, HttpClient admin, string project)
    {
        var revoked = await KeyAsync(admin, project, AllScopes, null);
        (await admin.DeleteAsync(Path($"/api/projects/{project}/keys/{revoked.KeyId}"))).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        var expired = await KeyAsync(admin, project, AllScopes, DateTimeOffset.UtcNow.AddSeconds(2));
        var lacking = new Dictionary<Requires, KeyMade>
        {
            [Requires.Ingest] = await KeyAsync(admin, project, ["read", "admin"], null),
            [Requires.Read] = await KeyAsync(admin, project, ["ingest", "admin"], null),
            [Requires.Admin] = await KeyAsync(admin, project, ["ingest", "read"], null),
        };
        lacking[Requires.Operator] = lacking[Requires.Admin];
        using (var expiring = server.CreateClient(expired.Secret))
            await Eventually.UntilAsync(async () =>
                (await expiring.GetAsync(Path($"/api/projects/{project}/keys"))).StatusCode == HttpStatusCode.Unauthorized,
                TimeSpan.FromSeconds(30), () => "the key with a 2 s expiry was still accepted");
        return new RefusedKeys(revoked, expired, lacking);
    }
}
