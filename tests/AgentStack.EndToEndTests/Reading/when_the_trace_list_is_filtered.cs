using System.Net;
using System.Text.Json.Nodes;
using AgentStack.Testing;
using static AgentStack.Testing.Spans;

namespace AgentStack.EndToEndTests.Reading;

/// <summary>
/// <c>GET /traces</c> and <c>GET /trace-search</c> check the parameters they share in one place: a parameter left
/// empty (as a form sends a blank field) is an absent one on both, and a bad value is refused on both naming it. Before,
/// <c>/traces</c> refused an empty <c>from</c>, <c>to</c> or <c>status</c> that <c>/trace-search</c> took.
/// </summary>
public sealed class when_the_trace_list_is_filtered(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private readonly ServerProcess server = fixture.Server;

    [Theory]
    [InlineData("traces")]
    [InlineData("trace-search")]
    public async Task then_empty_parameters_are_absent_ones(string list)
    {
        var trace = NewId();
        var start = DateTimeOffset.UtcNow.AddMinutes(-1);
        (await server.Client.PostSpansAsync(Batch(Span(trace, "root", kind: "agent", start: start, end: start.AddSeconds(1)))))
            .EnsureSuccessStatusCode();
        await server.WaitForProjectionAsync();

        var blank = await TraceIdsAsync($"{list}?from=&to=&status=&sessionId=&userId=&finding=&limit=500");
        var absent = await TraceIdsAsync($"{list}?limit=500");

        blank.ShouldContain(trace);
        blank.ShouldBe(absent);
    }

    [Theory]
    [InlineData("traces", "from=yesterday", "from")]
    [InlineData("trace-search", "from=yesterday", "from")]
    [InlineData("traces", "to=2026-13-01T00:00:00Z", "to")]
    [InlineData("trace-search", "to=2026-13-01T00:00:00Z", "to")]
    [InlineData("traces", "status=failed", "status")]
    [InlineData("trace-search", "status=failed", "status")]
    [InlineData("traces", "limit=0", "limit")]
    [InlineData("trace-search", "limit=501", "limit")]
    [InlineData("traces", "cursor=not-a-cursor", "cursor")]
    [InlineData("trace-search", "cursor=not-a-cursor", "cursor")]
    [InlineData("traces", "finding=nonsense", "finding")]
    [InlineData("trace-search", "finding=nonsense", "finding")]
    public async Task then_a_bad_value_is_refused_naming_it_on_both(string list, string query, string field)
    {
        using var response = await server.Client.GetAsync(new Uri($"/api/projects/default/{list}?{query}", UriKind.Relative));
        var body = await response.Content.ReadAsStringAsync();

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, body);
        JsonNode.Parse(body)!["errors"]!.AsObject().Select(e => e.Key).ShouldBe([field]);
    }

    private async Task<List<string>> TraceIdsAsync(string path)
    {
        using var response = await server.Client.GetAsync(new Uri($"/api/projects/default/{path}", UriKind.Relative));
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, $"{path}: {body}");
        return JsonNode.Parse(body)!["items"]!.AsArray().Select(t => t!["traceId"]!.GetValue<string>()).ToList();
    }
}
