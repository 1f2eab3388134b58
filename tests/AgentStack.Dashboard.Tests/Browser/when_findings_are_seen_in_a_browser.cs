using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace AgentStack.Dashboard.Tests.Browser;

/// <summary>
/// Issue 15 acceptance: the demo agent's planted prompt injections, found by the detectors in its recorded spans, show in
/// the Time Machine at the step they were found in, in the trace view, on the findings page (chart and table, linking to
/// the step) and narrow the trace list. The fixture (<see cref="DashboardFixture"/>) waits for the detectors.
/// </summary>
public sealed class when_findings_are_seen_in_a_browser(DashboardFixture fixture)
{
    /// <summary>A page signed in with the bootstrap key (the sign-in link is single use and another class opens it).</summary>
    private async Task<WatchedPage> SignedInAsync()
    {
        var page = await WatchedPage.OpenAsync(fixture);
        await page.Page.GotoAsync("/login");
        await page.Page.GetByLabel("Project key").FillAsync(AgentStack.Testing.ServerProcess.BootstrapKey);
        await page.Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.Page).ToHaveURLAsync(new Regex("/overview$"));
        return page;
    }

    private async Task<JsonObject> ApiAsync(string url) =>
        (await fixture.Server.Client.GetFromJsonAsync<JsonObject>(new Uri(url, UriKind.RelativeOrAbsolute)))!;

    /// <summary>The latest run whose user input carried the planted injection, and the detector's finding on the question it was planted in.</summary>
    private async Task<(DashboardFixture.Run Run, JsonNode Finding)> InjectedRunAsync()
    {
        var run = fixture.Runs.Last(r => r.Demo.UserInjection);
        var findings = (await ApiAsync($"/api/projects/default/findings?traceId={run.TraceId}&kind=prompt-injection"))["items"]!.AsArray();
        var finding = findings.Where(f => f!["field"]!.GetValue<string>() == "input$.question").ShouldHaveSingleItem()!;
        finding["agent"]!.GetValue<string>().ShouldBe("research-agent");
        finding["sourcePosition"]!.GetValue<long>().ShouldBeGreaterThan(0);
        return (run, finding);
    }

    [Fact]
    public async Task when_an_injected_run_is_replayed_then_the_finding_shows_at_its_step_and_in_the_trace_view()
    {
        var (run, finding) = await InjectedRunAsync();
        var replay = await fixture.Server.Client.GetStringAsync(new Uri($"/api/projects/default/traces/{run.TraceId}/replay", UriKind.Relative));
        var events = replay.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        var index = events.FindIndex(e => e["position"]!.GetValue<long>() == finding["sourcePosition"]!.GetValue<long>());
        index.ShouldBeGreaterThanOrEqualTo(0);
        events[index]["data"]!["span"]!["spanId"]!.GetValue<string>().ShouldBe(finding["spanId"]!.GetValue<string>());
        var score = finding["score"]!.GetValue<double>().ToString("F2", CultureInfo.InvariantCulture);

        await using var page = await SignedInAsync();
        // From the first step, the run's finding list jumps to the step the injection was found in.
        await page.Page.GotoAsync($"/traces/{run.TraceId}/replay?version=1");
        await Assertions.Expect(page.Page.GetByTestId("replay-step")).ToContainTextAsync($"Step 1 of {events.Count}");
        await Assertions.Expect(page.Page.GetByTestId("replay-findings")).ToHaveCountAsync(0);
        await page.Page.GetByRole(AriaRole.Button, new() { Name = $"Go to step {index + 1}: prompt injection" }).ClickAsync();
        await Assertions.Expect(page.Page.GetByTestId("replay-step")).ToContainTextAsync($"Step {index + 1} of {events.Count}");
        var shown = page.Page.GetByTestId("replay-findings");
        await Assertions.Expect(shown).ToContainTextAsync("prompt injection");
        await Assertions.Expect(shown).ToContainTextAsync($"score {score}");
        await Assertions.Expect(shown).ToContainTextAsync(finding["reason"]!.GetValue<string>());
        await Assertions.Expect(page.Page.Locator($"[data-span-id='{finding["spanId"]!.GetValue<string>()}'] [data-testid=span-finding]"))
            .ToContainTextAsync("prompt injection");
        // One step earlier, the span's injection badge is not there yet.
        await page.Page.GetByRole(AriaRole.Button, new() { Name = "Step back" }).ClickAsync();
        await Assertions.Expect(page.Page.GetByTestId("replay-step")).ToContainTextAsync($"Step {index} of {events.Count}");
        await Assertions.Expect(page.Page.Locator($"[data-span-id='{finding["spanId"]!.GetValue<string>()}'] [data-testid=span-finding]")
            .Filter(new() { HasText = "prompt injection" })).ToHaveCountAsync(0);
        await page.ScreenshotAsync(fixture, "replay-finding");

        // The trace view's findings panel, on the span it was found in.
        await page.Page.GotoAsync($"/traces/{run.TraceId}");
        await page.Page.GetByRole(AriaRole.Button, new() { NameRegex = new("^research-agent, agent") }).ClickAsync();
        await Assertions.Expect(page.Page.GetByRole(AriaRole.Region, new() { Name = "Span inspector" }).Locator(".finding", new() { HasText = "prompt_injection" }))
            .ToHaveCountAsync(1);
        page.ShouldHaveNoErrors();
    }

    [Fact]
    public async Task when_the_findings_page_opens_then_its_chart_and_table_show_the_apis_findings_and_link_to_the_step()
    {
        var (run, finding) = await InjectedRunAsync();
        await using var page = await SignedInAsync();
        string? chartUrl = null;
        page.Page.Request += (_, r) => { if (new Uri(r.Url).AbsolutePath.EndsWith("/findings/over-time", StringComparison.Ordinal)) chartUrl = r.Url; };

        await page.Page.GetByRole(AriaRole.Navigation, new() { Name = "Main" }).GetByRole(AriaRole.Link, new() { Name = "Findings" }).ClickAsync();
        await Assertions.Expect(page.Page.GetByRole(AriaRole.Heading, new() { Name = "Findings", Exact = true })).ToBeVisibleAsync();
        await Assertions.Expect(page.Page.Locator("[data-chart=findings] ngx-charts-bar-vertical-stacked")).ToBeVisibleAsync();
        chartUrl.ShouldNotBeNull();
        var chart = await ApiAsync(chartUrl);
        var total = chart["total"]!.GetValue<long>();
        total.ShouldBeGreaterThan(0);
        await Assertions.Expect(page.Page.GetByTestId("findings-total")).ToHaveTextAsync($"({total})");
        var list = await ApiAsync($"/api/projects/default/findings?from={Uri.EscapeDataString(chart["from"]!.GetValue<string>())}&to={Uri.EscapeDataString(chart["to"]!.GetValue<string>())}&limit=100");
        await Assertions.Expect(page.Page.Locator("table.list tbody tr")).ToHaveCountAsync(list["items"]!.AsArray().Count);
        await page.ScreenshotAsync(fixture, "findings");

        // Only prompt injections: every row is one, and the run's is there; its step link opens the Time Machine at that step.
        await page.Page.Locator("select[name=kind]").SelectOptionAsync("prompt_injection");
        var rows = page.Page.Locator("table.list tbody tr");
        await Assertions.Expect(page.Page.Locator("table.list tbody tr:not([data-finding-kind=prompt_injection])")).ToHaveCountAsync(0);
        var row = page.Page.Locator($"table.list tbody tr[data-trace-id='{run.TraceId}']", new() { HasText = finding["reason"]!.GetValue<string>() });
        await Assertions.Expect(row).ToHaveCountAsync(1);
        await Assertions.Expect(row).ToContainTextAsync("research-agent");
        (await rows.CountAsync()).ShouldBeGreaterThan(0);
        await row.GetByTestId("finding-step-link").ClickAsync();
        await Assertions.Expect(page.Page).ToHaveURLAsync(new Regex($"/traces/{run.TraceId}/replay\\?version=\\d+$"));
        await Assertions.Expect(page.Page.GetByTestId("replay-findings")).ToContainTextAsync(finding["reason"]!.GetValue<string>());

        // The trace list narrowed to traces with a prompt injection: the API's answer, the injected runs of the range among them.
        await page.Page.GotoAsync("/traces");
        string? listUrl = null;
        page.Page.Request += (_, r) => { if (r.Url.Contains("finding=prompt-injection", StringComparison.Ordinal)) listUrl = r.Url; };
        await page.Page.Locator("select[name=finding]").SelectOptionAsync("prompt-injection");
        var injected = fixture.RunsInLast(24).Where(r => r.Demo.UserInjection).Select(r => r.TraceId).ToList();
        injected.ShouldNotBeEmpty();
        foreach (var trace in injected)
            await Assertions.Expect(page.Page.Locator($"tr[data-trace-id='{trace}']")).ToHaveCountAsync(1);
        listUrl.ShouldNotBeNull();
        var expected = (await ApiAsync(listUrl))["items"]!.AsArray().Select(t => t!["traceId"]!.GetValue<string>()).ToList();
        await Assertions.Expect(page.Page.Locator("tr[data-trace-id]")).ToHaveCountAsync(expected.Count);
        (await page.Page.Locator("tr[data-trace-id]").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.traceId)")).ShouldBe(expected, ignoreOrder: true);
        page.ShouldHaveNoErrors();
    }
}
