using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AgentStack.Examples.ResearchAgent;
using Microsoft.Playwright;

namespace AgentStack.Dashboard.Tests.Browser;

/// <summary>
/// The dashboard in real headless Chromium against the running server filled by the demo agent (issue 7
/// acceptance): sign in by the one-time link, open a trace, replay it, and compare what every chart shows
/// with the query API.
/// Tests in a class run one after another, so the one that opens the link runs before those that reuse
/// its session (xunit orders by name here only through <see cref="IClassFixture{T}"/> state, so each
/// test signs in through <see cref="SignedInAsync"/>, which opens the link at most once). The fixture is the
/// assembly's <see cref="DashboardFixture"/>.
/// </summary>
public sealed class when_the_dashboard_is_used_in_a_browser(DashboardFixture fixture)
{
    /// <summary>The demo's embedding model (HashEmbeddingGenerator): tokens, no price.</summary>
    private const string EmbeddingModel = "hash-bow-256";

    private static readonly SemaphoreSlim SignInGate = new(1, 1);
    private static string? storageState;

    /// <summary>A page signed in through the sign-in link (opened once per run; later pages share its cookie).</summary>
    private async Task<WatchedPage> SignedInAsync(int width = 1280, int height = 800)
    {
        await SignInGate.WaitAsync(TestContext.Current.CancellationToken);
        try
        {
            if (storageState is null)
            {
                await using var first = await WatchedPage.OpenAsync(fixture);
                await first.Page.GotoAsync($"/signin?token={DashboardFixture.SignInToken}");
                await Assertions.Expect(first.Page).ToHaveURLAsync(new Regex("/overview$"));
                await Assertions.Expect(first.Page.GetByText("signed in by link")).ToBeVisibleAsync();
                storageState = await first.Context.StorageStateAsync();
                first.ShouldHaveNoErrors();
            }
        }
        finally
        {
            SignInGate.Release();
        }
        return await WatchedPage.OpenAsync(fixture, width, height, storageState);
    }

    [Fact]
    public async Task when_not_signed_in_then_no_data_shows_and_a_used_link_is_refused()
    {
        await using var page = await WatchedPage.OpenAsync(fixture);

        await page.Page.GotoAsync("/overview");
        try
        {
            await Assertions.Expect(page.Page).ToHaveURLAsync(new Regex("/login\\?next="));
        }
        catch (PlaywrightException e)
        {
            throw new InvalidOperationException(string.Join('\n', page.Errors), e);
        }
        await Assertions.Expect(page.Page.GetByRole(AriaRole.Heading, new() { Name = "Sign in to AgentStack" })).ToBeVisibleAsync();
        var api = await page.Page.APIRequest.GetAsync("/api/projects/default/traces");
        api.Status.ShouldBe(401);
        await page.ScreenshotAsync(fixture, "login");

        // The link is single use: after the session sign-in, opening it again lands on the refusal.
        await (await SignedInAsync()).DisposeAsync();
        await page.Page.GotoAsync($"/signin?token={DashboardFixture.SignInToken}");
        await Assertions.Expect(page.Page).ToHaveURLAsync(new Regex("/login\\?error=link$"));
        await Assertions.Expect(page.Page.GetByRole(AriaRole.Alert)).ToContainTextAsync("used already or has expired");

        // A pasted read key signs in too.
        await page.Page.GetByLabel("Project key").FillAsync(AgentStack.Testing.ServerProcess.BootstrapKey);
        await page.Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.Page).ToHaveURLAsync(new Regex("/overview$"));
        await Assertions.Expect(page.Page.GetByText("project key")).ToBeVisibleAsync();
        page.ShouldHaveNoErrors();
    }

    [Fact]
    public async Task when_a_trace_is_opened_then_the_waterfall_and_inspector_show_its_spans()
    {
        await using var page = await SignedInAsync();
        // The latest run: its pricing tool timed out and its user input carried a prompt injection.
        var run = fixture.Runs[^1];
        run.Demo.ToolTimedOut.ShouldBeTrue();
        run.Demo.UserInjection.ShouldBeTrue();
        var stored = (await ApiAsync($"/api/projects/default/traces/{run.TraceId}"))["spans"]!.AsArray();

        // The list's default range is the last 24 hours: the runs back-filled into it, and the index trace.
        await page.Page.GotoAsync("/traces");
        var rows = page.Page.Locator("tr[data-trace-id]");
        var recent = fixture.RunsInLast(24);
        await Assertions.Expect(rows).ToHaveCountAsync(recent.Count + 1);
        var listed = await rows.EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.traceId)");
        recent.Select(r => r.TraceId).ShouldBeSubsetOf(listed);
        var index = listed.Except(recent.Select(r => r.TraceId)).ShouldHaveSingleItem();
        await Assertions.Expect(page.Page.Locator($"tr[data-trace-id='{index}']")).ToContainTextAsync("index-knowledge-base");
        await page.ScreenshotAsync(fixture, "traces");
        await page.Page.Locator($"tr[data-trace-id='{run.TraceId}'] a").ClickAsync();
        await Assertions.Expect(page.Page).ToHaveURLAsync(new Regex($"/traces/{run.TraceId}$"));

        var spans = page.Page.Locator("button[data-span-id]");
        await Assertions.Expect(spans).ToHaveCountAsync(stored.Count);
        var inspector = page.Page.GetByRole(AriaRole.Region, new() { Name = "Span inspector" });

        // The failed tool call shows its error; the guardrail shows the injected input it caught.
        await page.Page.GetByRole(AriaRole.Button, new() { NameRegex = new("^execute_tool get_pricing, tool") }).ClickAsync();
        await Assertions.Expect(inspector.Locator("dd.status-error")).ToContainTextAsync("the pricing service did not answer within 150 ms");
        await page.Page.GetByRole(AriaRole.Button, new() { NameRegex = new("^input-guard, guardrail") }).ClickAsync();
        await Assertions.Expect(inspector).ToContainTextAsync("Ignore all previous instructions");

        // The SDK records messages as OpenTelemetry GenAI parts: the first model call asks for the tool, the last
        // one streamed the e-mail; both render as a conversation.
        var chats = page.Page.GetByRole(AriaRole.Button, new() { NameRegex = new($"^chat {LocalChatClient.ModelId}, llm") });
        await chats.First.ClickAsync();
        await Assertions.Expect(inspector.GetByLabel("Input messages")).ToContainTextAsync("[task:summarize] Summarise the context");
        await Assertions.Expect(inspector.GetByLabel("Output messages")).ToContainTextAsync("get_pricing({\"product\":\"AgentStack\"})");
        await chats.Last.ClickAsync();
        await Assertions.Expect(inspector.GetByLabel("Input messages")).ToContainTextAsync("[task:email] Write an e-mail as JSON");
        await Assertions.Expect(inspector.GetByLabel("Output messages")).ToContainTextAsync("Your research summary");
        await page.ScreenshotAsync(fixture, "trace");
        page.ShouldHaveNoErrors();
    }

    [Fact]
    public async Task when_a_trace_is_replayed_then_each_step_shows_the_state_its_events_recorded()
    {
        await using var page = await SignedInAsync();
        // A run whose pricing tool timed out: the error span is one of the steps.
        var run = fixture.Runs.First(r => r.Demo.ToolTimedOut);
        var events = await ReplayEventsAsync(run.TraceId);
        events.Count.ShouldBeGreaterThan(10, "a demo run has a dozen spans or more");

        await page.Page.GotoAsync($"/traces/{run.TraceId}/replay");
        await ShouldShowStepAsync(page.Page, events, 0);

        // Step forward twice, back once.
        var forward = page.Page.GetByRole(AriaRole.Button, new() { Name = "Step forward" });
        var back = page.Page.GetByRole(AriaRole.Button, new() { Name = "Step back" });
        await forward.ClickAsync();
        await forward.ClickAsync();
        await ShouldShowStepAsync(page.Page, events, 2);
        await back.ClickAsync();
        await ShouldShowStepAsync(page.Page, events, 1);

        // Play at 10×, pause once it has moved on, and check the state where it stopped.
        await page.Page.GetByLabel("Playback speed").SelectOptionAsync("10");
        await page.Page.GetByRole(AriaRole.Button, new() { Name = "Play" }).ClickAsync();
        await Assertions.Expect(page.Page.GetByTestId("replay-step")).Not.ToContainTextAsync("Step 2 of");
        await page.Page.GetByRole(AriaRole.Button, new() { Name = "Pause" }).ClickAsync();
        var stoppedAt = await CurrentIndexAsync(page.Page);
        stoppedAt.ShouldBeGreaterThan(1);
        await ShouldShowStepAsync(page.Page, events, stoppedAt);

        // Scrub to a version, then keyboard: ArrowLeft steps back, End goes to the last step.
        await page.Page.GetByLabel("Scrub through versions").FillAsync(events[5].Version.ToString(CultureInfo.InvariantCulture));
        await ShouldShowStepAsync(page.Page, events, 5);
        await page.ScreenshotAsync(fixture, "replay");
        await page.Page.Locator("h1").ClickAsync();
        await page.Page.Keyboard.PressAsync("ArrowLeft");
        await ShouldShowStepAsync(page.Page, events, 4);
        await page.Page.Keyboard.PressAsync("End");
        await ShouldShowStepAsync(page.Page, events, events.Count - 1);

        // Play to the end at 10×: it stops on the last step by itself.
        await page.Page.Keyboard.PressAsync("Home");
        await page.Page.GetByRole(AriaRole.Button, new() { Name = "Play" }).ClickAsync();
        await Assertions.Expect(page.Page.GetByRole(AriaRole.Button, new() { Name = "Play" })).ToBeVisibleAsync();
        await ShouldShowStepAsync(page.Page, events, events.Count - 1);

        // The deep link opens the step it names.
        await page.Page.GotoAsync($"/traces/{run.TraceId}/replay?version={events[3].Version}");
        await ShouldShowStepAsync(page.Page, events, 3);
        page.ShouldHaveNoErrors();
    }

    [Fact]
    public async Task when_the_overview_opens_then_every_chart_shows_the_query_apis_points()
    {
        foreach (var (width, height) in new[] { (1280, 800), (1920, 1080) })
        {
            await using var page = await SignedInAsync(width, height);
            var requests = new Dictionary<string, string>();
            page.Page.Request += (_, r) =>
            {
                var path = new Uri(r.Url).AbsolutePath;
                if (path.Contains("/overview/", StringComparison.Ordinal))
                    lock (requests) requests[path[(path.LastIndexOf('/') + 1)..]] = r.Url;
            };
            await page.Page.GotoAsync("/overview");
            await Assertions.Expect(page.Page.Locator("[data-chart=models] ngx-charts-bar-vertical-2d")).ToBeVisibleAsync();
            await Assertions.Expect(page.Page.Locator("[data-chart=latency] ngx-charts-bubble-chart")).ToBeVisibleAsync();

            // Every chart: the data table beside it equals what the API answers for the same request.
            var usage = await ApiAsync(requests["usage"]);
            var points = usage["points"]!.AsArray();
            points.Count.ShouldBeGreaterThan(0);
            (await TableAsync(page.Page, "cost")).ShouldBe(points.Select(p => new[] { S(p!["bucket"]), S(p!["model"]), S(p!["costUsd"]) }).ToList());
            (await TableAsync(page.Page, "tokens")).ShouldBe(points.Select(p => new[] { S(p!["bucket"]), S(p!["model"]), S(p!["inputTokens"]), S(p!["outputTokens"]) }).ToList());
            points.Sum(p => p!["costUsd"]!.GetValue<decimal>()).ShouldBeGreaterThan(0m);
            // Two models: the demo's offline chat model and its embedding model.
            var models = points.Select(p => S(p!["model"])).Distinct().ToList();
            models.ShouldBe([EmbeddingModel, LocalChatClient.ModelId], ignoreOrder: true);
            await Assertions.Expect(page.Page.Locator("[data-chart=cost] .legend-label")).ToHaveCountAsync(2);

            // One point per run in the range; the index trace has neither tool, retrieval nor model calls.
            var recent = fixture.RunsInLast(24);
            var latency = (await ApiAsync(requests["latency"]))["points"]!.AsArray();
            latency.Select(p => S(p!["traceId"])).ShouldBe(recent.Select(r => r.TraceId), ignoreOrder: true);
            (await TableAsync(page.Page, "latency")).Select(r => r[1..]).ToList()
                .ShouldBe(latency.Select(p => new[] { S(p!["externalMs"]), S(p!["llmMs"]) }).ToList());
            await Assertions.Expect(page.Page.Locator("[data-chart=latency] g.circle > circle")).ToHaveCountAsync(latency.Count);

            var errors = (await ApiAsync(requests["errors"]))["points"]!.AsArray();
            (await TableAsync(page.Page, "errors")).ShouldBe(errors.Select(p => new[] { S(p!["bucket"]), S(p!["traces"]), S(p!["errors"]), S(p!["errorRate"]) }).ToList());
            errors.Sum(p => p!["errors"]!.GetValue<long>()).ShouldBe(recent.Count(r => r.Fails));
            errors.Sum(p => p!["errors"]!.GetValue<long>()).ShouldBeGreaterThan(0, "the demo's tool timeouts and malformed answers fall in the last 24 hours");
            errors.Count.ShouldBeGreaterThan(1, "runs in several hourly buckets draw a line");

            var latencies = (await ApiAsync(requests["models"]))["models"]!.AsArray();
            (await TableAsync(page.Page, "models")).ShouldBe(latencies.Select(p => new[] { S(p!["model"]), S(p!["calls"]), S(p!["p50Ms"]), S(p!["p95Ms"]) }).ToList());
            latencies.Select(p => S(p!["model"])).ShouldBe(models, ignoreOrder: true);
            await Assertions.Expect(page.Page.Locator("[data-chart=models] path.bar")).ToHaveCountAsync(latencies.Count * 2);

            // Issue 15.5: the detectors found the demo's planted user injections in the recorded spans (its own guard only
            // sanitised them, so nothing was blocked): three lines per day, the table as the API answers.
            var days = (await ApiAsync(requests["security"]))["days"]!.AsArray();
            days.Sum(d => d!["promptInjectionsDetected"]!.GetValue<long>()).ShouldBeGreaterThan(0);
            (await TableAsync(page.Page, "security")).ShouldBe(days.Select(d => new[]
                { S(d!["day"]), S(d!["anomalies"]), S(d!["promptInjectionsBlocked"]), S(d!["promptInjectionsDetected"]) }).ToList());
            await Assertions.Expect(page.Page.Locator("[data-chart=security] path.line")).ToHaveCountAsync(3);

            await TimeSeriesShouldBeDrawnAsync(page.Page, 2);
            await page.ScreenshotAsync(fixture, "overview-24h");

            // Last 7 days: daily buckets, every trace in the last one. Wait for the week itself (day ticks, then
            // no answer outstanding), not for text the 24-hour range already showed.
            await page.Page.GetByLabel("Time range", new() { Exact = true }).SelectOptionAsync("7d");
            await Assertions.Expect(page.Page.Locator("[data-chart=cost] g.tick title").First).ToHaveTextAsync(new Regex(@"^\d\d-\d\d$"));
            await Assertions.Expect(page.Page.Locator(".grid")).ToHaveAttributeAsync("aria-busy", "false");
            var week = await ApiAsync(requests["usage"]);
            S(week["bucket"]).ShouldBe("day");
            (await TableAsync(page.Page, "cost")).ShouldBe(week["points"]!.AsArray().Select(p => new[] { S(p!["bucket"]), S(p!["model"]), S(p!["costUsd"]) }).ToList());
            var weekErrors = (await ApiAsync(requests["errors"]))["points"]!.AsArray();
            (await TableAsync(page.Page, "errors")).ShouldBe(weekErrors.Select(p => new[] { S(p!["bucket"]), S(p!["traces"]), S(p!["errors"]), S(p!["errorRate"]) }).ToList());
            // The week holds the whole two-day back-fill: every run, every failure.
            weekErrors.Sum(p => p!["traces"]!.GetValue<long>()).ShouldBe(fixture.TraceCount);
            weekErrors.Sum(p => p!["errors"]!.GetValue<long>()).ShouldBe(fixture.Runs.Count(r => r.Fails));
            await Assertions.Expect(page.Page.GetByTestId("total-traces")).ToHaveTextAsync(fixture.TraceCount.ToString(CultureInfo.InvariantCulture));
            await Assertions.Expect(page.Page.Locator("[data-chart=cost] .legend-label")).ToHaveCountAsync(2);
            var weekLatency = (await ApiAsync(requests["latency"]))["points"]!.AsArray();
            weekLatency.Select(p => S(p!["traceId"])).ShouldBe(fixture.Runs.Select(r => r.TraceId), ignoreOrder: true);
            (await TableAsync(page.Page, "latency")).Select(r => r[1..]).ToList()
                .ShouldBe(weekLatency.Select(p => new[] { S(p!["externalMs"]), S(p!["llmMs"]) }).ToList());
            await Assertions.Expect(page.Page.Locator("[data-chart=latency] g.circle > circle")).ToHaveCountAsync(weekLatency.Count);
            await TimeSeriesShouldBeDrawnAsync(page.Page, 2);
            await page.ScreenshotAsync(fixture, "overview-7d");
            page.ShouldHaveNoErrors();
        }
    }

    /// <summary>
    /// Issue 14.6/14.7: an operator (a key with the admin scope) opens Operations from the nav, starts a rebuild of
    /// the analytics projection and sees it through to the switch, with its progress bar full and parity proven,
    /// while the trace list keeps its rows.
    /// </summary>
    [Fact]
    public async Task when_an_operator_rebuilds_a_projection_then_the_page_shows_its_progress_to_the_switch()
    {
        await using var page = await WatchedPage.OpenAsync(fixture);
        await page.Page.GotoAsync("/login");
        await page.Page.GetByLabel("Project key").FillAsync(AgentStack.Testing.ServerProcess.BootstrapKey);
        await page.Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.Page).ToHaveURLAsync(new Regex("/overview$"));
        var before = (await ApiAsync("/api/projects/default/traces?limit=500"))["items"]!.AsArray().Count;

        await page.Page.GetByRole(AriaRole.Navigation, new() { Name = "Main" }).GetByRole(AriaRole.Link, new() { Name = "Operations" }).ClickAsync();
        await Assertions.Expect(page.Page).ToHaveURLAsync(new Regex("/operations$"));
        var row = page.Page.Locator("tr[data-projection=analytics]");
        await Assertions.Expect(row.Locator("[data-test=state]")).ToHaveTextAsync("running");
        await row.GetByRole(AriaRole.Button, new() { Name = "Rebuild" }).ClickAsync();

        // The bar appears with the rebuild and fills; the page polls the status until the switch.
        var bar = row.GetByRole(AriaRole.Progressbar, new() { Name = "Rebuild progress" });
        await Assertions.Expect(bar).ToBeVisibleAsync();
        await Assertions.Expect(row.Locator("[data-test=rebuild-phase]")).ToContainTextAsync("done", new() { Timeout = 60_000 });
        await Assertions.Expect(bar).ToHaveAttributeAsync("aria-valuenow", "100");
        await Assertions.Expect(row.Locator("[data-test=parity]")).ToContainTextAsync("rebuilt rows equal the incremental ones");
        await Assertions.Expect(row.Locator("[data-test=state]")).ToHaveTextAsync("running");
        await page.ScreenshotAsync(fixture, "operations");
        (await ApiAsync("/api/projects/default/traces?limit=500"))["items"]!.AsArray().Count.ShouldBe(before);
        page.ShouldHaveNoErrors();
    }

    [Fact]
    public async Task when_pages_are_open_then_every_control_has_an_accessible_name()
    {
        await using var page = await SignedInAsync(1920, 1080);
        foreach (var (path, name) in new[] { ("/overview", "overview"), ("/traces", "traces"), ($"/traces/{fixture.Runs[0].TraceId}", "trace"),
                     ($"/traces/{fixture.Runs[0].TraceId}/replay", "replay") })
        {
            await page.Page.GotoAsync(path);
            await page.Page.WaitForLoadStateAsync(LoadState.NetworkIdle);
            var unnamed = await page.Page.EvaluateAsync<string[]>("""
                () => [...document.querySelectorAll('button, a[href], input, select, textarea, [role=button]')]
                  .filter(e => e.offsetParent !== null || e.getClientRects().length > 0)
                  .filter(e => {
                    const name = (e.getAttribute('aria-label') || e.getAttribute('aria-labelledby') || e.textContent || e.getAttribute('title') || '').trim();
                    const label = e.id && document.querySelector(`label[for="${e.id}"]`);
                    return !name && !label && !e.closest('label');
                  })
                  .map(e => e.outerHTML.slice(0, 120))
                """);
            unnamed.ShouldBeEmpty(path);
            await page.ScreenshotAsync(fixture, name);
        }
        page.ShouldHaveNoErrors();
    }

    /// <summary>
    /// Each time-series chart draws its series, not only axes and a legend: every stacked area (one per
    /// model) and the error-rate line has a non-empty box (a line through a single point has none, which
    /// is what one daily bucket used to give), and no chart is still fading in (ngx-charts' CSS fade-in
    /// starts at opacity 0), so a screenshot shows what a user sees.
    /// </summary>
    private static async Task TimeSeriesShouldBeDrawnAsync(IPage page, int models)
    {
        foreach (var chart in new[] { "cost", "tokens" })
        {
            var areas = page.Locator($"[data-chart={chart}] path.area");
            await Assertions.Expect(areas).ToHaveCountAsync(models);
            for (var i = 0; i < models; i++)
                await Assertions.Expect(areas.Nth(i)).ToBeVisibleAsync();
        }
        await Assertions.Expect(page.Locator("[data-chart=errors] path.line")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("[data-chart=errors] path.line")).ToBeVisibleAsync();
        var charts = page.Locator("[data-chart] .ngx-charts-outer");
        await Assertions.Expect(charts).Not.ToHaveCountAsync(0);
        for (var i = await charts.CountAsync() - 1; i >= 0; i--)
            await Assertions.Expect(charts.Nth(i)).ToHaveCSSAsync("opacity", "1");
    }

    private async Task ShouldShowStepAsync(IPage page, List<ReplayEvent> events, int index)
    {
        var seen = events.Take(index + 1).ToList();
        var latest = seen.GroupBy(e => e.SpanId).Select(g => g.Last()).ToList();
        var step = page.GetByTestId("replay-step");
        await Assertions.Expect(step).ToContainTextAsync($"Step {index + 1} of {events.Count} · version {events[index].Version}");
        await Assertions.Expect(page.GetByTestId("replay-event-type")).ToHaveTextAsync(events[index].Type);
        await Assertions.Expect(page.Locator("[data-testid=replay-spans] li")).ToHaveCountAsync(latest.Count);
        await Assertions.Expect(page.Locator("[data-testid=replay-spans] li[data-state=running]"))
            .ToHaveCountAsync(latest.Count(e => e.Type.StartsWith("span.started", StringComparison.Ordinal)));
        await Assertions.Expect(page.GetByTestId("replay-input-tokens")).ToHaveTextAsync(latest.Sum(e => e.InputTokens).ToString(CultureInfo.InvariantCulture));
        await Assertions.Expect(page.GetByTestId("replay-output-tokens")).ToHaveTextAsync(latest.Sum(e => e.OutputTokens).ToString(CultureInfo.InvariantCulture));
        var cost = decimal.Parse(await page.GetByTestId("replay-cost").GetAttributeAsync("data-value") ?? "0", CultureInfo.InvariantCulture);
        cost.ShouldBe(latest.Sum(e => e.CostUsd), 0.0000001m);
        (await page.GetByTestId("replay-payload").TextContentAsync())!.ShouldContain($"\"hash\": \"{events[index].Hash}\"");
        new Uri(page.Url).Query.ShouldBe($"?version={events[index].Version}");
    }

    private static async Task<int> CurrentIndexAsync(IPage page)
    {
        var text = await page.GetByTestId("replay-step").TextContentAsync() ?? "";
        return int.Parse(text.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) - 1;
    }

    private sealed record ReplayEvent(long Version, string Type, string Hash, string SpanId, long InputTokens, long OutputTokens, decimal CostUsd);

    private async Task<List<ReplayEvent>> ReplayEventsAsync(string traceId)
    {
        var text = await fixture.Server.Client.GetStringAsync(new Uri($"/api/projects/default/traces/{traceId}/replay", UriKind.Relative));
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line =>
        {
            var e = JsonNode.Parse(line)!;
            var span = e["data"]!["span"]!;
            return new ReplayEvent(e["version"]!.GetValue<long>(), S(e["type"]), S(e["hash"]), S(span["spanId"]),
                span["inputTokens"]?.GetValue<long>() ?? 0, span["outputTokens"]?.GetValue<long>() ?? 0, span["costUsd"]?.GetValue<decimal>() ?? 0m);
        }).ToList();
    }

    private async Task<JsonNode> ApiAsync(string url)
    {
        using var response = await fixture.Server.Client.GetAsync(new Uri(url, UriKind.RelativeOrAbsolute));
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        return (await response.Content.ReadFromJsonAsync<JsonNode>())!;
    }

    private static async Task<List<string[]>> TableAsync(IPage page, string chart) =>
        (await page.Locator($"[data-chart={chart}] table tbody tr").EvaluateAllAsync<string[][]>(
            "rows => rows.map(r => [...r.querySelectorAll('td')].map(td => td.textContent.trim()))")).ToList();

    private static string S(JsonNode? node) => node switch
    {
        null => "",
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => node.ToJsonString(),
    };
}
