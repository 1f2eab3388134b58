using System.Net;
using System.Text.Json.Nodes;
using AgentStack.Testing;
using static AgentStack.Testing.Spans;

namespace AgentStack.EndToEndTests.Reading;

/// <summary>Issue 16: a session listed by <c>GET /sessions</c> opens at <c>GET /sessions/{sessionId}</c>, whatever its id holds.</summary>
public sealed class when_sessions_are_read(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private readonly ServerProcess server = fixture.Server;

    private async Task<JsonObject> GetAsync(string path)
    {
        using var response = await server.Client.GetAsync(new Uri(path, UriKind.Relative));
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, $"{path}: {body}");
        return JsonNode.Parse(body)!.AsObject();
    }

    /// <summary>
    /// The route keeps %2F encoded but decodes %25, so "thread/42" came as "thread%2F42" (404), and decoding the route
    /// value again would open "50%2Foff" as "50/off".
    /// </summary>
    [Theory]
    [InlineData("thread/42")]
    [InlineData("50%off")]
    [InlineData("50%2Foff")]
    [InlineData("a/b%2Fc%25d é")]
    public async Task then_a_session_whose_id_holds_a_slash_or_a_percent_sign_opens(string session)
    {
        var sessionId = $"{session}-{NewId()}";
        var trace = NewId();
        var start = DateTimeOffset.UtcNow.AddMinutes(-1);
        var attributes = new JsonObject { ["session.id"] = sessionId }.ToJsonString();
        (await server.Client.PostSpansAsync(Batch(Span(trace, "root", kind: "agent", start: start, end: start.AddSeconds(1),
            extra: $"\"attributes\":{attributes}")))).EnsureSuccessStatusCode();
        await server.WaitForProjectionAsync();

        var listed = await GetAsync("/api/projects/default/sessions?limit=500");
        listed["items"]!.AsArray().ShouldContain(s => s!["sessionId"]!.GetValue<string>() == sessionId);

        foreach (var path in new[] { Uri.EscapeDataString(sessionId), Uri.EscapeDataString(sessionId) + "/" })
        {
            var detail = await GetAsync($"/api/projects/default/sessions/{path}");
            detail["session"]!["sessionId"]!.GetValue<string>().ShouldBe(sessionId);
            detail["traces"]!.AsArray().ShouldHaveSingleItem()!["traceId"]!.GetValue<string>().ShouldBe(trace);
        }
    }

    /// <summary>docs/sdk.md: one span of the trace carrying the session or the user is enough, in the list and in the detail alike.</summary>
    [Fact]
    public async Task then_the_users_on_other_spans_of_the_sessions_traces_are_the_sessions_users()
    {
        var session = $"S1-{NewId()}";
        var user = $"U1-{NewId()}";
        var trace = NewId();
        var start = DateTimeOffset.UtcNow.AddMinutes(-1);
        (await server.Client.PostSpansAsync(Batch(
            Span(trace, "root", kind: "agent", start: start, end: start.AddSeconds(2), extra: $"\"attributes\":{{\"session.id\":\"{session}\"}}"),
            Span(trace, "call", parent: "root", start: start.AddSeconds(1), end: start.AddSeconds(2), extra: $"\"attributes\":{{\"user.id\":\"{user}\"}}"))))
            .EnsureSuccessStatusCode();
        await server.WaitForProjectionAsync();

        var listed = (await GetAsync("/api/projects/default/sessions?limit=500"))["items"]!.AsArray()
            .Single(s => s!["sessionId"]!.GetValue<string>() == session)!;
        listed["userIds"]!.AsArray().Select(u => u!.GetValue<string>()).ShouldBe([user]);
        var detail = await GetAsync($"/api/projects/default/sessions/{session}");
        detail["session"]!["userIds"]!.AsArray().Select(u => u!.GetValue<string>()).ShouldBe([user]);
        detail["session"]!["traceCount"]!.GetValue<int>().ShouldBe(1);
    }
}
