using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using AgentStack.Anomalies.Alerting;
using AgentStack.Testing;

namespace AgentStack.Anomalies.Tests;

/// <summary>
/// End to end through the all-in-one server as a child process: a rule added through the API, a looping
/// agent run ingested through <c>/v1/spans</c>, the anomaly projection and the dispatcher, and a signed
/// webhook on a real local listener.
/// </summary>
public sealed class when_the_server_runs_anomalies_and_alerts : IClassFixture<ServerFixture>
{
    private readonly ServerProcess server;

    public when_the_server_runs_anomalies_and_alerts(ServerFixture fixture) => server = fixture.Server;

    [Fact]
    public async Task then_a_looping_run_reaches_the_webhook_signed()
    {
        await using var webhook = new WebhookReceiver();
        using var added = await server.Client.PostAsJsonAsync(new Uri("/api/projects/default/alerts/rules", UriKind.Relative),
            new { kind = "anomaly", minSeverity = "medium", threshold = 1, webhookUrl = webhook.Url });
        added.StatusCode.ShouldBe(HttpStatusCode.Created, await added.Content.ReadAsStringAsync());
        var rule = (await added.Content.ReadFromJsonAsync<JsonObject>())!;
        var secret = rule["secret"]!.GetValue<string>();

        var traceId = Spans.NewId();
        var start = DateTimeOffset.UtcNow.AddMinutes(-1);
        var spans = Enumerable.Range(0, 5)
            .Select(i => Spans.Span(traceId, $"tool{i}", "root", "search", "tool", start, start.AddMilliseconds(100),
                input: i % 2 == 0 ? """{"q":"same","page":1}""" : """{"page":1,"q":"same"}"""))
            .Append(Spans.Span(traceId, "root", null, "planner", "agent", start, start.AddSeconds(2)));
        using var ingested = await server.Client.PostSpansAsync(Spans.Batch([.. spans]));
        ingested.StatusCode.ShouldBe(HttpStatusCode.OK, await ingested.Content.ReadAsStringAsync());

        await Eventually.UntilAsync(() => webhook.Received.Count > 0, TimeSpan.FromSeconds(60), () => server.Output);
        var delivery = webhook.Received[0];
        delivery.Signature.ShouldBe(WebhookSender.Sign(secret, Encoding.UTF8.GetBytes(delivery.Body)));
        var body = JsonNode.Parse(delivery.Body)!;
        body["ruleId"]!.GetValue<string>().ShouldBe(rule["ruleId"]!.GetValue<string>());
        body["event"]!["data"]!["metric"]!.GetValue<string>().ShouldBe("loop");
        body["event"]!["data"]!["traceId"]!.GetValue<string>().ShouldBe(traceId);
        body["event"]!["stream"]!.GetValue<string>().ShouldBe("anomalies-default");

        var listed = await server.Client.GetFromJsonAsync<JsonArray>(new Uri("/api/projects/default/alerts/rules", UriKind.Relative));
        listed!.ShouldHaveSingleItem()!["hasSecret"]!.GetValue<bool>().ShouldBeTrue();
        listed[0]!.AsObject().ContainsKey("secret").ShouldBeFalse();
        using var removed = await server.Client.DeleteAsync(new Uri($"/api/projects/default/alerts/rules/{rule["ruleId"]}", UriKind.Relative));
        removed.StatusCode.ShouldBe(HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task then_a_bad_rule_is_refused_naming_the_field()
    {
        using var response = await server.Client.PostAsJsonAsync(new Uri("/api/projects/default/alerts/rules", UriKind.Relative),
            new { kind = "weather", threshold = 0 });

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var problem = await response.Content.ReadAsStringAsync();
        problem.ShouldContain("kind");
        problem.ShouldContain("threshold");
    }

    [Fact]
    public async Task then_another_projects_rules_are_not_found()
    {
        using var response = await server.Client.GetAsync(new Uri("/api/projects/someone-else/alerts/rules", UriKind.Relative));

        response.StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }
}
