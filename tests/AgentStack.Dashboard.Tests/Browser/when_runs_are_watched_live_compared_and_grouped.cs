using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AgentStack.Examples.ResearchAgent;
using AgentStack.Testing;
using Microsoft.Extensions.AI;
using Microsoft.Playwright;

namespace AgentStack.Dashboard.Tests.Browser;

/// <summary>
/// The Time Machine's issue 16 in the browser, on a server of its own (the shared one's trace counts stay as they are):
/// a run in progress grows in the trace view and the Time Machine while the agent is held inside it; the replay of an
/// SDK run starts with its root agent; two demo-agent runs, the second with a changed pricing tool, compared with their
/// first divergence; their session.
/// </summary>
public sealed class when_runs_are_watched_live_compared_and_grouped(DashboardFixture browser, when_runs_are_watched_live_compared_and_grouped.Runs runs)
    : IClassFixture<when_runs_are_watched_live_compared_and_grouped.Runs>
{
    /// <summary>Run 0 of the demo twice: as recorded, then with the pricing tool answering 99 USD (both in session-1).</summary>
    public sealed class Runs : IAsyncLifetime
    {
        public ServerProcess Server { get; private set; } = null!;
        public string Original { get; private set; } = "";
        public string Changed { get; private set; } = "";

        public async ValueTask InitializeAsync()
        {
            Server = await ServerProcess.StartAsync();
            Original = await RunAsync(null);
            Changed = await RunAsync((product, _) => Task.FromResult($"{product} team plan is 99 USD per seat per month"));
            await Server.WaitForProjectionAsync();
        }

        private async Task<string> RunAsync(Func<string, CancellationToken, Task<string>>? pricing)
        {
            var result = await ResearchAgentApp.RunAsync(new DemoOptions
            {
                Endpoint = Server.BaseAddress,
                ApiKey = ServerProcess.BootstrapKey,
                ForceLocalModel = true,
                PricingTool = pricing,
            }, TextWriter.Null, CancellationToken.None);
            result.ExitCode.ShouldBe(0, result.Statistics.LastError);
            return result.Runs.Single().TraceId;
        }

        public async ValueTask DisposeAsync() => await Server.DisposeAsync();
    }

    private readonly ServerProcess server = runs.Server;

    /// <summary>A page on this class's server, signed in with the bootstrap key through the sign-in form.</summary>
    private async Task<WatchedPage> SignedInAsync()
    {
        var page = await WatchedPage.OpenAsync(browser, server.BaseAddress);
        await page.Page.GotoAsync("/login");
        await page.Page.GetByLabel("Project key").FillAsync(ServerProcess.BootstrapKey);
        await page.Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.Page).ToHaveURLAsync(new Regex("/overview$"));
        return page;
    }

    private static async Task<int> NumberAsync(ILocator locator, string pattern) =>
        int.Parse(Regex.Match(await locator.TextContentAsync() ?? "", pattern).Groups[1].Value, CultureInfo.InvariantCulture);

    [Fact]
    public async Task when_a_run_is_in_progress_then_the_trace_view_and_the_time_machine_grow_while_it_runs()
    {
        var ct = TestContext.Current.CancellationToken;
        var traceId = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var inTool = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseTool = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var inEmail = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseEmail = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // Run 4 (a session of its own), held twice: inside the pricing tool, then before the e-mail model call.
        var agent = ResearchAgentApp.RunAsync(new DemoOptions
        {
            FirstRunIndex = 4,
            Endpoint = server.BaseAddress,
            ApiKey = ServerProcess.BootstrapKey,
            ForceLocalModel = true,
            OnRunStarted = root => traceId.TrySetResult(root.Activity!.TraceId.ToHexString()),
            PricingTool = async (product, token) =>
            {
                inTool.TrySetResult();
                await releaseTool.Task.WaitAsync(token);
                return $"{product} team plan is 49 USD per seat per month";
            },
            ChatPipeline = model => ResearchAgentApp.DefaultPipeline(new HeldBeforeStreaming(model, inEmail, releaseEmail.Task)),
        }, TextWriter.Null, ct);
        try
        {
            var id = await traceId.Task.WaitAsync(TimeSpan.FromSeconds(30), ct);
            await inTool.Task.WaitAsync(TimeSpan.FromSeconds(30), ct);
            // The dashboard opens a trace once the projection has its root's start record.
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!(await server.Client.GetAsync(new Uri($"/api/projects/default/traces/{id}", UriKind.Relative), ct)).IsSuccessStatusCode)
            {
                DateTime.UtcNow.ShouldBeLessThan(deadline, $"trace {id} was not projected within 30 s");
                await Task.Delay(50, ct);
            }

            await using var trace = await SignedInAsync();
            await trace.Page.GotoAsync($"/traces/{id}");
            await Assertions.Expect(trace.Page.GetByTestId("trace-live")).ToBeVisibleAsync();
            await Assertions.Expect(trace.Page.Locator("button[data-span-id]").Filter(new() { HasText = "execute_tool get_pricing" })).ToBeVisibleAsync();
            var spansInTool = await NumberAsync(trace.Page.GetByTestId("trace-span-count"), @"(\d+)");

            await using var replay = await SignedInAsync();
            await replay.Page.GotoAsync($"/traces/{id}/replay");
            await Assertions.Expect(replay.Page.GetByTestId("replay-live")).ToBeVisibleAsync();
            await Assertions.Expect(replay.Page.GetByTestId("replay-step")).ToContainTextAsync("Step 1 of");
            var stepsInTool = await NumberAsync(replay.Page.GetByTestId("replay-step"), @"of (\d+)");
            // The replay starts with the root agent even while the run goes on.
            await Assertions.Expect(replay.Page.Locator("[data-testid=replay-spans] li")).ToHaveCountAsync(1);
            await Assertions.Expect(replay.Page.Locator("[data-testid=replay-spans] li")).ToContainTextAsync("research-agent");
            // Follow the run from its last step.
            await replay.Page.Locator("h1").ClickAsync();
            await replay.Page.Keyboard.PressAsync("End");

            // The tool answers; the agent goes on and is held again before the e-mail: both views have grown meanwhile.
            releaseTool.SetResult();
            await inEmail.Task.WaitAsync(TimeSpan.FromSeconds(30), ct);
            await Assertions.Expect(trace.Page.Locator("button[data-span-id]").Filter(new() { HasText = "write-email" })).ToBeVisibleAsync();
            (await NumberAsync(trace.Page.GetByTestId("trace-span-count"), @"(\d+)")).ShouldBeGreaterThan(spansInTool);
            await Assertions.Expect(trace.Page.GetByTestId("trace-live")).ToBeVisibleAsync();
            await Assertions.Expect(replay.Page.Locator("[data-testid=replay-spans] li").Filter(new() { HasText = "write-email" })).ToBeVisibleAsync();
            var stepsHeld = await NumberAsync(replay.Page.GetByTestId("replay-step"), @"of (\d+)");
            stepsHeld.ShouldBeGreaterThan(stepsInTool);
            await Assertions.Expect(replay.Page.GetByTestId("replay-step")).ToContainTextAsync($"Step {stepsHeld} of {stepsHeld}");
            agent.IsCompleted.ShouldBeFalse("the agent is still running");
            await replay.ScreenshotAsync(browser, "time-machine-live");

            // The run ends: the feeds close and the views show it whole.
            releaseEmail.SetResult();
            (await agent).ExitCode.ShouldBe(0);
            await Assertions.Expect(replay.Page.GetByTestId("replay-live")).ToBeHiddenAsync(new() { Timeout = 30_000 });
            await Assertions.Expect(trace.Page.GetByTestId("trace-live")).ToBeHiddenAsync(new() { Timeout = 30_000 });
            await Assertions.Expect(replay.Page.Locator("[data-testid=replay-spans] li").First).ToHaveAttributeAsync("data-state", "ok");
            trace.ShouldHaveNoErrors();
            replay.ShouldHaveNoErrors();
        }
        finally
        {
            releaseTool.TrySetResult();
            releaseEmail.TrySetResult();
            await agent;
        }
    }

    [Fact]
    public async Task when_an_sdk_run_is_replayed_then_it_starts_with_the_root_agent()
    {
        await using var page = await SignedInAsync();
        await page.Page.GotoAsync($"/traces/{runs.Original}/replay");
        await Assertions.Expect(page.Page.GetByTestId("replay-step")).ToContainTextAsync("Step 1 of");
        await Assertions.Expect(page.Page.GetByTestId("replay-event-type")).ToHaveTextAsync("span.started.v1");
        var tree = page.Page.Locator("[data-testid=replay-spans] li");
        await Assertions.Expect(tree).ToHaveCountAsync(1);
        await Assertions.Expect(tree).ToContainTextAsync("research-agent");
        await Assertions.Expect(tree).ToHaveAttributeAsync("data-state", "running");
        await Assertions.Expect(page.Page.GetByTestId("replay-live")).ToBeHiddenAsync();
        page.ShouldHaveNoErrors();
    }

    [Fact]
    public async Task when_two_runs_are_picked_then_the_comparison_shows_their_first_divergence()
    {
        await using var page = await SignedInAsync();
        await page.Page.GotoAsync("/traces");
        await page.Page.Locator($"tr[data-trace-id='{runs.Original}'] input[type=checkbox]").CheckAsync();
        await page.Page.Locator($"tr[data-trace-id='{runs.Changed}'] input[type=checkbox]").CheckAsync();
        await page.Page.GetByRole(AriaRole.Link, new() { Name = "Compare the two runs" }).ClickAsync();

        await Assertions.Expect(page.Page).ToHaveURLAsync(new Regex($"/compare\\?left={runs.Original}&right={runs.Changed}$"));
        var divergence = page.Page.GetByTestId("compare-divergence");
        await Assertions.Expect(divergence).ToContainTextAsync("tool output");
        await Assertions.Expect(divergence).ToContainTextAsync("execute_tool get_pricing");
        await Assertions.Expect(page.Page.Locator("button.diverges")).ToContainTextAsync("execute_tool get_pricing");
        var step = page.Page.GetByTestId("compare-step");
        await Assertions.Expect(step).ToContainTextAsync("49 USD");
        await Assertions.Expect(step).ToContainTextAsync("99 USD");

        // The same divergence and deltas as the API.
        var api = await server.Client.GetFromJsonAsync<JsonNode>(new Uri($"/api/projects/default/compare?left={runs.Original}&right={runs.Changed}", UriKind.Relative),
            TestContext.Current.CancellationToken);
        var index = api!["firstDivergence"]!["index"]!.GetValue<int>();
        await Assertions.Expect(divergence).ToContainTextAsync($"step {index + 1}:");
        var delta = api["inputTokensDelta"]!.GetValue<long>();
        await Assertions.Expect(page.Page.GetByTestId("compare-token-delta")).ToContainTextAsync(delta == 0 ? "±0" : $"+{delta}");
        await page.ScreenshotAsync(browser, "compare");
        page.ShouldHaveNoErrors();
    }

    [Fact]
    public async Task when_a_session_is_opened_then_its_traces_show_in_order_with_totals()
    {
        var ct = TestContext.Current.CancellationToken;
        var api = await server.Client.GetFromJsonAsync<JsonNode>(new Uri("/api/projects/default/sessions/session-1", UriKind.Relative), ct);
        await using var page = await SignedInAsync();
        await page.Page.GotoAsync("/sessions");
        var row = page.Page.Locator("tr[data-session-id='session-1']");
        await Assertions.Expect(row).ToContainTextAsync("user-1");
        await row.GetByRole(AriaRole.Link, new() { Name = "session-1" }).ClickAsync();

        await Assertions.Expect(page.Page).ToHaveURLAsync(new Regex("/sessions/session-1$"));
        var traces = page.Page.Locator("li[data-trace-id]");
        await Assertions.Expect(traces).ToHaveCountAsync(2);
        (await traces.EvaluateAllAsync<string[]>("els => els.map(e => e.getAttribute('data-trace-id'))")).ShouldBe([runs.Original, runs.Changed]);
        await Assertions.Expect(page.Page.GetByTestId("session-trace-count")).ToHaveTextAsync("2");
        await Assertions.Expect(page.Page.GetByTestId("session-input-tokens")).ToHaveTextAsync(api!["session"]!["inputTokens"]!.GetValue<long>().ToString(CultureInfo.InvariantCulture));
        await page.Page.Locator($"li[data-trace-id='{runs.Changed}'] a.compare").ClickAsync();
        await Assertions.Expect(page.Page.GetByTestId("compare-divergence")).ToContainTextAsync("tool output");
        page.ShouldHaveNoErrors();
    }

    /// <summary>The demo's model, held before its streaming call (the e-mail) until the test lets it go.</summary>
    private sealed class HeldBeforeStreaming(IChatClient model, TaskCompletionSource reached, Task release) : DelegatingChatClient(model)
    {
        public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages,
            ChatOptions? options = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            reached.TrySetResult();
            await release.WaitAsync(cancellationToken);
            await foreach (var update in base.GetStreamingResponseAsync(messages, options, cancellationToken))
                yield return update;
        }
    }
}
