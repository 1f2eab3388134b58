using System.Text.Json.Nodes;
using AgentStack.Examples.ResearchAgent;
using AgentStack.Testing;

namespace AgentStack.Sdk.Tests;

/// <summary>
/// Issue 16: while the demo agent waits inside its pricing tool, the replay endpoint with <c>?follow=true</c> has
/// already pushed the started root, chain and tool spans; when the tool answers, the rest arrives on the same
/// response, which ends once the root has completed.
/// </summary>
public sealed class when_a_run_is_followed_live : IAsyncLifetime
{
    private ServerProcess server = null!;

    public async ValueTask InitializeAsync() => server = await ServerProcess.StartAsync();

    public async ValueTask DisposeAsync() => await server.DisposeAsync();

    [Fact]
    public async Task then_events_are_pushed_while_the_agent_runs_and_the_stream_ends_with_the_run()
    {
        var ct = TestContext.Current.CancellationToken;
        var traceId = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var inTool = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var agent = ResearchAgentApp.RunAsync(new DemoOptions
        {
            Endpoint = server.BaseAddress,
            ApiKey = ServerProcess.BootstrapKey,
            ForceLocalModel = true,
            OnRunStarted = root => traceId.TrySetResult(root.Activity!.TraceId.ToHexString()),
            PricingTool = async (product, token) =>
            {
                inTool.TrySetResult();
                await release.Task.WaitAsync(token);
                return $"{product} team plan is 49 USD per seat per month";
            },
        }, TextWriter.Null, ct);

        var id = await traceId.Task.WaitAsync(TimeSpan.FromSeconds(30), ct);
        await inTool.Task.WaitAsync(TimeSpan.FromSeconds(30), ct);
        // The trace exists once the root's start record is stored (the exporter sends within its 1 s interval).
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!(await server.Client.GetAsync(new Uri($"/api/projects/default/traces/{id}/replay", UriKind.Relative), ct)).IsSuccessStatusCode)
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"trace {id} was not stored within 30 s");
            await Task.Delay(50, ct);
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"/api/projects/default/traces/{id}/replay?follow=true", UriKind.Relative));
        using var response = await server.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
        var events = new List<JsonNode>();

        async Task<JsonNode?> NextAsync()
        {
            while (await reader.ReadLineAsync(ct).AsTask().WaitAsync(TimeSpan.FromSeconds(30), ct) is { } line)
            {
                if (line.Length > 0)
                    return JsonNode.Parse(line);
            }
            return null;
        }

        static string Describe(JsonNode e) => $"{e["type"]} {e["data"]!["span"]!["name"]}";

        // Pushed while the tool still runs: the started tool span, and nothing has completed the root.
        while (!events.Any(e => Describe(e) == "span.started.v1 execute_tool get_pricing"))
            events.Add(await NextAsync() ?? throw new InvalidOperationException("the stream ended while the agent was running: " + string.Join(", ", events.Select(Describe))));
        Describe(events[0]).ShouldBe("span.started.v1 research-agent");
        agent.IsCompleted.ShouldBeFalse();
        events.Select(Describe).ShouldNotContain("span.completed.v1 research-agent");

        release.SetResult();
        while (await NextAsync() is { } e)
            events.Add(e);
        Describe(events[^1]).ShouldBe("span.completed.v1 research-agent", "the stream ends when the run is over");
        (await agent).ExitCode.ShouldBe(0);
        events.Select(e => e["version"]!.GetValue<long>()).ShouldBe(Enumerable.Range(1, events.Count).Select(v => (long)v), "every stored event once, in stream order");
    }
}
