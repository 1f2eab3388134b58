using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AgentStack.Testing;

namespace AgentStack.EndToEndTests.Reading;

public sealed class when_the_server_describes_itself(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task then_the_openapi_document_lists_the_public_endpoints()
    {
        using var anonymous = new HttpClient { BaseAddress = fixture.Server.BaseAddress };
        var document = JsonNode.Parse(await anonymous.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative)))!;
        var paths = document["paths"]!.AsObject().Select(p => p.Key).ToList();
        paths.ShouldContain("/v1/spans");
        paths.ShouldContain("/api/projects/{project}/traces");
        paths.ShouldContain("/api/projects/{project}/traces/{traceId}");
        paths.ShouldContain("/api/projects/{project}/traces/{traceId}/replay");
        paths.ShouldContain("/api/projections");
        document["paths"]!["/v1/spans"]!["post"]!["requestBody"]!["content"]!["application/json"].ShouldNotBeNull();

        using var ui = await anonymous.GetAsync(new Uri("/scalar", UriKind.Relative));
        ui.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await ui.Content.ReadAsStringAsync()).ShouldContain("openapi/v1.json");
    }

    [Fact]
    public async Task then_each_background_projection_runner_has_a_thread_of_its_own_by_default()
    {
        // The runners but the analytics tables' share AgentStack:Projections:Threads threads (docs/projections.md,
        // "Ingestion first"); a runner added without raising the default would wait behind the others' batches.
        var status = await fixture.Server.Client.GetFromJsonAsync<JsonObject>(new Uri("/api/projections", UriKind.Relative), TestContext.Current.CancellationToken);
        var background = status!["projections"]!.AsArray().Select(p => p!["name"]!.GetValue<string>()).Where(n => n != "analytics").ToList();
        background.Count.ShouldBe(AgentStack.Projections.Running.ProjectionOptions.DefaultThreads, string.Join(", ", background));
    }

    [Fact]
    public async Task then_health_endpoints_answer_without_a_key()
    {
        using var anonymous = new HttpClient { BaseAddress = fixture.Server.BaseAddress };
        (await anonymous.GetAsync(new Uri("/health/live", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await anonymous.GetAsync(new Uri("/health/ready", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task then_reads_without_a_key_are_refused()
    {
        using var anonymous = new HttpClient { BaseAddress = fixture.Server.BaseAddress };
        (await anonymous.GetAsync(new Uri("/api/projects/default/traces", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }
}
