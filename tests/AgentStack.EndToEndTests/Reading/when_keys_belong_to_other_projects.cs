using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AgentStack.Testing;
using static AgentStack.Testing.Spans;

namespace AgentStack.EndToEndTests.Reading;

public sealed class when_keys_belong_to_other_projects(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private async Task<(string Project, HttpClient Client)> NewProjectAsync()
    {
        var name = "p" + NewId()[..12];
        using var response = await fixture.Server.Client.PostAsJsonAsync(new Uri("/api/projects", UriKind.Relative), new { name });
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var created = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        return (name, fixture.Server.CreateClient(created["secret"]!.GetValue<string>()));
    }

    private async Task<string> NewKeyAsync(HttpClient admin, string project, params string[] scopes)
    {
        using var response = await admin.PostAsJsonAsync(new Uri($"/api/projects/{project}/keys", UriKind.Relative), new { scopes });
        response.StatusCode.ShouldBe(HttpStatusCode.Created);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["secret"]!.GetValue<string>();
    }

    [Fact]
    public async Task then_a_key_neither_reads_nor_writes_another_projects_data()
    {
        var (alpha, alphaClient) = await NewProjectAsync();
        var (beta, betaClient) = await NewProjectAsync();
        var trace = NewId();
        (await alphaClient.PostSpansAsync(Batch(Span(trace, "s", end: DateTimeOffset.UtcNow)))).EnsureSuccessStatusCode();
        await fixture.Server.WaitForProjectionAsync();

        (await alphaClient.GetAsync(new Uri($"/api/projects/{alpha}/traces/{trace}", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.OK);
        foreach (var path in new[] { $"/api/projects/{alpha}/traces", $"/api/projects/{alpha}/traces/{trace}", $"/api/projects/{alpha}/traces/{trace}/replay" })
            (await betaClient.GetAsync(new Uri(path, UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.NotFound, path);

        // The same trace id sent with beta's key lands in beta's own stream; alpha's is untouched.
        (await betaClient.PostSpansAsync(Batch(Span(trace, "s", end: DateTimeOffset.UtcNow, name: "other")))).EnsureSuccessStatusCode();
        await fixture.Server.WaitForProjectionAsync();
        var alphaSpans = await alphaClient.GetFromJsonAsync<JsonObject>(new Uri($"/api/projects/{alpha}/traces/{trace}", UriKind.Relative));
        alphaSpans!["spans"]!.AsArray().ShouldHaveSingleItem()!["name"]!.GetValue<string>().ShouldBe("step");
        var betaSpans = await betaClient.GetFromJsonAsync<JsonObject>(new Uri($"/api/projects/{beta}/traces/{trace}", UriKind.Relative));
        betaSpans!["spans"]!.AsArray().ShouldHaveSingleItem()!["name"]!.GetValue<string>().ShouldBe("other");

        // Only the operator's project creates projects, and a project's admin cannot mint keys elsewhere.
        (await alphaClient.PostAsJsonAsync(new Uri("/api/projects", UriKind.Relative), new { name = "sneaky" })).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await alphaClient.PostAsJsonAsync(new Uri($"/api/projects/{beta}/keys", UriKind.Relative), new { scopes = new[] { "read" } }))
            .StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task then_scopes_limit_what_a_key_may_do()
    {
        var (project, admin) = await NewProjectAsync();
        using var ingestOnly = fixture.Server.CreateClient(await NewKeyAsync(admin, project, "ingest"));
        using var readOnly = fixture.Server.CreateClient(await NewKeyAsync(admin, project, "read"));

        var trace = NewId();
        (await ingestOnly.PostSpansAsync(Batch(Span(trace, "s", end: DateTimeOffset.UtcNow)))).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await readOnly.PostSpansAsync(Batch(Span(NewId(), "s")))).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await ingestOnly.GetAsync(new Uri($"/api/projects/{project}/traces", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await readOnly.GetAsync(new Uri($"/api/projects/{project}/traces/{trace}/replay", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await readOnly.PostAsJsonAsync(new Uri($"/api/projects/{project}/keys", UriKind.Relative), new { scopes = new[] { "admin" } }))
            .StatusCode.ShouldBe(HttpStatusCode.Forbidden);
    }
}
