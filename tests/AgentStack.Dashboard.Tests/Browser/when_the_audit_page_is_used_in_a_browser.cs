using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace AgentStack.Dashboard.Tests.Browser;

/// <summary>
/// Issue 14, point 7: the Audit page in real headless Chromium against the server the demo agent filled:
/// verify the project and one trace, download a signed export, see the signed checkpoints. Signs in with the
/// project key (the one-time link belongs to <see cref="when_the_dashboard_is_used_in_a_browser"/>).
/// </summary>
public sealed class when_the_audit_page_is_used_in_a_browser(DashboardFixture fixture)
{
    [Fact]
    public async Task then_the_project_and_a_trace_verify_the_export_downloads_signed_and_checkpoints_show()
    {
        var ct = TestContext.Current.CancellationToken;
        using (var checkpoint = await fixture.Server.Client.PostAsync(new Uri("/api/audit/checkpoints", UriKind.Relative), null, ct))
            checkpoint.IsSuccessStatusCode.ShouldBeTrue(await checkpoint.Content.ReadAsStringAsync(ct));
        var latest = JsonNode.Parse(await fixture.Server.Client.GetStringAsync(new Uri("/api/audit/checkpoints/latest", UriKind.Relative), ct))!;
        var treeSize = latest["treeSize"]!.GetValue<long>();

        await using var watched = await WatchedPage.OpenAsync(fixture);
        var page = watched.Page;
        await page.GotoAsync("/audit");
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/login\\?next="));
        await page.Locator("input#key").FillAsync(AgentStack.Testing.ServerProcess.BootstrapKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/audit$"));
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Audit", Exact = true })).ToBeVisibleAsync();

        await Assertions.Expect(page.Locator($"tr[data-tree-size=\"{treeSize}\"]")).ToBeVisibleAsync();

        await page.GetByRole(AriaRole.Button, new() { Name = "Verify" }).ClickAsync();
        var result = page.GetByTestId("verify-result");
        await Assertions.Expect(result).ToContainTextAsync("Valid");
        await Assertions.Expect(result).ToContainTextAsync("whole project");
        await Assertions.Expect(result).ToContainTextAsync($"checkpoint {treeSize:N0}: consistent");

        var trace = fixture.Runs[0].TraceId;
        await page.Locator("input[name=traceId]").FillAsync(trace);
        await page.GetByRole(AriaRole.Button, new() { Name = "Verify" }).ClickAsync();
        await Assertions.Expect(result).ToContainTextAsync($"trace {trace}");
        await Assertions.Expect(result).ToContainTextAsync("Valid");

        var download = await page.RunAndWaitForDownloadAsync(() =>
            page.GetByRole(AriaRole.Button, new() { Name = "Download signed export" }).ClickAsync());
        var file = Path.Combine(fixture.Screenshots, "audit-export.ndjson");
        await download.SaveAsAsync(file);
        var lines = await File.ReadAllLinesAsync(file, ct);
        lines.Length.ShouldBeGreaterThan(1);
        lines.SkipLast(1).ShouldAllBe(l => l.Contains($"\"stream\":\"trace-default-{trace}\""));
        var manifest = JsonNode.Parse(lines[^1])!;
        manifest["manifest"]!["traceId"]!.GetValue<string>().ShouldBe(trace);
        manifest["signature"]!.GetValue<string>().ShouldNotBeNullOrEmpty();

        // The erasure panel is another component's; its slot is there and empty until it is plugged in.
        (await page.GetByTestId("erasure-slot").CountAsync()).ShouldBe(1);
        await watched.ScreenshotAsync(fixture, "audit");
        watched.ShouldHaveNoErrors();
    }
}
