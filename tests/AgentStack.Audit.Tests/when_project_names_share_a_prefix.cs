using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AgentStack.Testing;
using static AgentStack.Testing.Spans;

namespace AgentStack.Audit.Tests;

/// <summary>
/// Streams are named <c>trace-{project}-{traceId}</c> and project names may hold '-', so project <c>a</c>'s prefix
/// also matches project <c>a-b</c>'s streams. Verify and export of <c>a</c> hold nothing of <c>a-b</c>
/// (docs/architecture.md, invariant 6), and a trace id that makes one project's stream name another's is refused.
/// </summary>
public sealed class when_project_names_share_a_prefix(ServerFixture fixture) : IClassFixture<ServerFixture>, IDisposable
{
    private readonly List<HttpClient> clients = [];

    private ServerProcess Server => fixture.Server;

    public void Dispose()
    {
        foreach (var client in clients)
            client.Dispose();
    }

    [Fact]
    public async Task then_verify_and_export_of_one_hold_nothing_of_the_other()
    {
        var ct = TestContext.Current.CancellationToken;
        var (a, clientA, clientAB) = await ProjectAndItsPrefixedNeighbourAsync();
        var start = DateTimeOffset.UtcNow.AddMinutes(-1);

        var traceA = NewId();
        using (var response = await clientA.PostSpansAsync(Batch(Span(traceA, "root", start: start, end: start.AddSeconds(1)))))
            response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var checkedBefore = (await VerifyAsync(clientA, a))["eventsChecked"]!.GetValue<long>();
        checkedBefore.ShouldBeGreaterThan(0);

        // a-b's stream trace-{a}-b-{id} lies under a's prefix trace-{a}-.
        var traceAB = NewId();
        using (var response = await clientAB.PostSpansAsync(Batch(Span(traceAB, "s1", start: start, end: start.AddSeconds(1),
            input: "\"secret of a-b\""))))
            response.StatusCode.ShouldBe(HttpStatusCode.OK);

        var verified = await VerifyAsync(clientA, a);
        verified["valid"]!.GetValue<bool>().ShouldBeTrue(verified.ToJsonString());
        verified["eventsChecked"]!.GetValue<long>().ShouldBe(checkedBefore, "verify of a counted a-b's events");
        verified.ToJsonString().ShouldNotContain(traceAB);

        using var export = await clientA.GetAsync(new Uri($"/api/projects/{a}/audit/export", UriKind.Relative), ct);
        var text = await export.Content.ReadAsStringAsync(ct);
        export.StatusCode.ShouldBe(HttpStatusCode.OK, text);
        text.ShouldContain(traceA);
        text.ShouldNotContain(traceAB);
        text.ShouldNotContain("secret of a-b");
        text.ShouldNotContain($"trace-{a}-b-");

        // And the other way round: a-b sees its own trace only.
        var otherExport = await clientAB.GetStringAsync(new Uri($"/api/projects/{a}-b/audit/export", UriKind.Relative), ct);
        otherExport.ShouldContain(traceAB);
        otherExport.ShouldNotContain(traceA);
    }

    [Fact]
    public async Task then_a_trace_id_that_spells_the_others_stream_is_refused_and_nothing_mixes()
    {
        var ct = TestContext.Current.CancellationToken;
        var (a, clientA, clientAB) = await ProjectAndItsPrefixedNeighbourAsync();
        var start = DateTimeOffset.UtcNow.AddMinutes(-1);
        var id = NewId();

        // a's trace "b-{id}" and a-b's trace "{id}" are both trace-{a}-b-{id}.
        var span = Span("b-" + id, "s1", start: start, end: start.AddSeconds(1), input: "\"of a\"");
        using (var response = await clientA.PostSpansAsync(Batch(span)))
            response.StatusCode.ShouldBe(HttpStatusCode.OK);

        // The same span under a-b (content the same but for the trace id, and a span new to the stream): refused whole.
        using (var response = await clientAB.PostSpansAsync(Batch(Span(id, "s1", start: start, end: start.AddSeconds(1), input: "\"of a\""),
            Span(id, "s2", start: start, end: start.AddSeconds(1), input: "\"secret of a-b\""))))
        {
            var body = await response.Content.ReadAsStringAsync(ct);
            response.StatusCode.ShouldBe(HttpStatusCode.Conflict, body);
            body.ShouldContain("another project's trace");
            body.ShouldNotContain(a + "\"");
        }

        // Neither a-b's trace view nor its replay of that name shows a's trace.
        foreach (var path in new[] { $"/api/projects/{a}-b/traces/{id}", $"/api/projects/{a}-b/traces/{id}/replay",
            $"/api/projects/{a}-b/traces/{id}/replay?fromVersion=5" })
        {
            using var missing = await clientAB.GetAsync(new Uri(path, UriKind.Relative), ct);
            var body = await missing.Content.ReadAsStringAsync(ct);
            missing.StatusCode.ShouldBe(HttpStatusCode.NotFound, path);
            body.ShouldNotContain("of a", Case.Sensitive, path);
        }
        var export = await clientA.GetStringAsync(new Uri($"/api/projects/{a}/audit/export", UriKind.Relative), ct);
        export.ShouldContain("b-" + id);
        export.ShouldNotContain("secret of a-b");
        var verified = await VerifyAsync(clientA, a);
        verified["valid"]!.GetValue<bool>().ShouldBeTrue(verified.ToJsonString());
    }

    /// <summary>Project <c>a</c> and project <c>a-b</c>, each with a client holding its first key.</summary>
    private async Task<(string A, HttpClient ClientA, HttpClient ClientAB)> ProjectAndItsPrefixedNeighbourAsync()
    {
        var a = "iso" + NewId()[..8];
        var (keyA, keyAB) = (await CreateProjectAsync(a), await CreateProjectAsync(a + "-b"));
        clients.AddRange([Server.CreateClient(keyA), Server.CreateClient(keyAB)]);
        return (a, clients[^2], clients[^1]);
    }

    private async Task<string> CreateProjectAsync(string name)
    {
        using var response = await Server.Client.PostAsJsonAsync(new Uri("/api/projects", UriKind.Relative), new { name });
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.Created, body);
        return JsonNode.Parse(body)!["secret"]!.GetValue<string>();
    }

    private static async Task<JsonObject> VerifyAsync(HttpClient client, string project)
    {
        using var response = await client.GetAsync(new Uri($"/api/projects/{project}/audit/verify", UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, text);
        return JsonNode.Parse(text)!.AsObject();
    }
}
