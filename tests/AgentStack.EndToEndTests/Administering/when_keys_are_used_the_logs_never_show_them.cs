using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AgentStack.Testing;
using static AgentStack.Testing.Spans;

namespace AgentStack.EndToEndTests.Administering;

/// <summary>
/// Issue 17, item 2: secrets come only from configuration and are never logged. A full run at Debug level
/// (bootstrap key from the environment, a project created, keys issued, used, refused, rotated and revoked,
/// spans ingested over HTTP) and then its whole console output is searched for every secret it used.
/// </summary>
public sealed class when_keys_are_used_the_logs_never_show_them
{
    private static Uri Path(string path) => new(path, UriKind.Relative);

    [Fact]
    public async Task then_no_secret_appears_in_the_server_output()
    {
        await using var server = await ServerProcess.StartAsync(new Dictionary<string, string>
        {
            ["Logging__LogLevel__Default"] = "Debug",
            ["Logging__LogLevel__Microsoft.AspNetCore"] = "Debug",
        });
        var secrets = new List<string> { ServerProcess.BootstrapKey };

        using var created = await server.Client.PostAsJsonAsync(Path("/api/projects"), new { name = "logs-" + NewId()[..8] });
        created.StatusCode.ShouldBe(HttpStatusCode.Created);
        var project = (await created.Content.ReadFromJsonAsync<JsonObject>())!;
        var admin = project["secret"]!.GetValue<string>();
        var name = project["project"]!.GetValue<string>();
        secrets.Add(admin);

        using var adminClient = server.CreateClient(admin);
        using var issued = await adminClient.PostAsJsonAsync(Path($"/api/projects/{name}/keys"), new { scopes = new[] { "ingest" } });
        issued.StatusCode.ShouldBe(HttpStatusCode.Created);
        var key = (await issued.Content.ReadFromJsonAsync<JsonObject>())!;
        var ingest = key["secret"]!.GetValue<string>();
        secrets.Add(ingest);

        using (var ingestClient = server.CreateClient(ingest))
        {
            (await ingestClient.PostSpansAsync(Batch(Span(NewId(), "s1", end: DateTimeOffset.UtcNow)))).StatusCode.ShouldBe(HttpStatusCode.OK);
            // Refused: a read with an ingest key, and a key that does not exist.
            (await ingestClient.GetAsync(Path($"/api/projects/{name}/traces"))).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        }
        var unknown = "ask_" + NewId() + NewId();
        secrets.Add(unknown);
        using (var unknownClient = server.CreateClient(unknown))
            (await unknownClient.PostSpansAsync(Batch(Span(NewId(), "s1", end: DateTimeOffset.UtcNow)))).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);

        using var rotated = await adminClient.PostAsync(Path($"/api/projects/{name}/keys/{key["keyId"]}/rotate"), null);
        rotated.StatusCode.ShouldBe(HttpStatusCode.Created, await rotated.Content.ReadAsStringAsync());
        secrets.Add((await rotated.Content.ReadFromJsonAsync<JsonObject>())!["secret"]!.GetValue<string>());
        (await adminClient.DeleteAsync(Path($"/api/projects/{name}/keys/{key["keyId"]}"))).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        await server.StopAsync();
        var output = server.Output;
        output.Length.ShouldBeGreaterThan(1000, "the server logged almost nothing at Debug: the search below would prove nothing");
        foreach (var secret in secrets)
            output.ShouldNotContain(secret);
    }
}
