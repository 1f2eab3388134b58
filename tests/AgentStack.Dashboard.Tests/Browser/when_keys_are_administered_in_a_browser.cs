using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static AgentStack.Testing.Spans;

namespace AgentStack.Dashboard.Tests.Browser;

/// <summary>
/// Issue 17 acceptance: on the projects-and-keys page an admin issues a key, the key works, the admin revokes
/// it, and the revoked key is refused within a second.
/// </summary>
public sealed class when_keys_are_administered_in_a_browser(DashboardFixture fixture)
{
    [Fact]
    public async Task then_a_key_is_issued_used_and_revoked_and_refused_within_a_second()
    {
        // A project of its own: the other browser tests count the demo's traces in project default.
        using var create = await fixture.Server.Client.PostAsJsonAsync(new Uri("/api/projects", UriKind.Relative), new { name = "browser-" + NewId()[..10] });
        create.StatusCode.ShouldBe(HttpStatusCode.Created, await create.Content.ReadAsStringAsync());
        var adminKey = (await create.Content.ReadFromJsonAsync<JsonObject>())!["secret"]!.GetValue<string>();

        await using var page = await WatchedPage.OpenAsync(fixture);
        await page.Page.GotoAsync("/login");
        await page.Page.GetByLabel("Project key").FillAsync(adminKey);
        await page.Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.Page).ToHaveURLAsync(new Regex("/overview$"));

        await page.Page.GetByRole(AriaRole.Link, new() { Name = "Keys" }).ClickAsync();
        await Assertions.Expect(page.Page.GetByRole(AriaRole.Heading, new() { Name = "Projects and keys" })).ToBeVisibleAsync();
        await page.Page.GetByRole(AriaRole.Button, new() { Name = "Issue key" }).ClickAsync();
        var secretText = page.Page.Locator("[data-test=secret]");
        await Assertions.Expect(secretText).ToContainTextAsync("ask_");
        var secret = (await secretText.TextContentAsync())!.Trim();
        await page.ScreenshotAsync(fixture, "admin-issued");

        using var client = fixture.Server.CreateClient(secret);
        using (var used = await client.PostSpansAsync(Batch(Span(NewId(), "s1", end: DateTimeOffset.UtcNow))))
            used.StatusCode.ShouldBe(HttpStatusCode.OK, "the new key ingests");

        var row = page.Page.Locator("tr", new() { HasText = secret[..12] });
        await row.GetByRole(AriaRole.Button, new() { Name = "Revoke" }).ClickAsync();
        await Assertions.Expect(row.Locator(".state")).ToHaveTextAsync("revoked");
        var sinceRevoked = Stopwatch.StartNew();
        using var refused = await client.PostSpansAsync(Batch(Span(NewId(), "s1", end: DateTimeOffset.UtcNow)));
        sinceRevoked.Stop();
        refused.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        sinceRevoked.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(1), "the revoked key is refused within a second");
        TestContext.Current.TestOutputHelper?.WriteLine($"revoked key refused {sinceRevoked.ElapsedMilliseconds} ms after the page showed it revoked");
        await page.ScreenshotAsync(fixture, "admin-revoked");

        // Retention (issue 17.3): the policy is set on the same page and shown as the server stored it.
        await Assertions.Expect(page.Page.Locator("[data-test=retention-policy]")).ToContainTextAsync("kept forever");
        await page.Page.GetByLabel("Days (empty: keep forever)").FillAsync("30");
        await page.Page.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(page.Page.Locator("[data-test=retention-policy]")).ToContainTextAsync("30 days");
        page.ShouldHaveNoErrors();
    }
}
