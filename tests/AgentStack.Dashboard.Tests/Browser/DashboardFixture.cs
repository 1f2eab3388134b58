using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AgentStack.Examples.ResearchAgent;
using AgentStack.Testing;
using Microsoft.Playwright;

namespace AgentStack.Dashboard.Tests.Browser;

/// <summary>
/// One server filled by the demo agent (examples/ResearchAgent, issue 6) and one real headless Chromium
/// (Debian's /usr/bin/chromium, never a Playwright download) for the browser tests. An assembly fixture
/// (AssemblyInfo.cs): the demo's AgentStackClient must be the only one in the process.
/// </summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    /// <summary>Fixed for tests only (AgentStack__Dashboard__SignInToken); still one use, still expiring.</summary>
    public const string SignInToken = "dashboard-test-sign-in-token-0123456789";

    /// <summary>
    /// Ten runs back-filled over two days: about half fall in the overview's default 24 hours (several hourly
    /// buckets), all in its 7 days (three daily buckets), and they include every intentional failure (tool
    /// timeouts, malformed answers) and both kinds of prompt injection (ResearchAgentApp's run schedule).
    /// </summary>
    public const int DemoRuns = 10;
    public const int BackfillDays = 2;

    public ServerProcess Server { get; private set; } = null!;
    public IReadOnlyList<Run> Runs { get; private set; } = [];

    /// <summary>Every trace the demo stored: its runs plus the one index-knowledge-base trace it sends per process.</summary>
    public int TraceCount => Runs.Count + 1;

    public IPlaywright Playwright { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;
    public string Screenshots { get; } = Path.Combine(AppContext.BaseDirectory, "screenshots");

    /// <summary>A demo run as stored: its trace, when its root started, and whether one of its spans failed.</summary>
    public sealed record Run(DemoRun Demo, DateTimeOffset Start)
    {
        public string TraceId => Demo.TraceId;

        /// <summary>A tool timeout or a malformed e-mail leaves an error span in the trace (the run itself recovers).</summary>
        public bool Fails => Demo.ToolTimedOut || Demo.MalformedAnswer;
    }

    /// <summary>The runs that started in the last <paramref name="hours"/> hours (the back-fill keeps them well clear of the edge).</summary>
    public IReadOnlyList<Run> RunsInLast(double hours) => Runs.Where(r => r.Start >= DateTimeOffset.UtcNow.AddHours(-hours)).ToList();

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(Screenshots);
        Server = await ServerProcess.StartAsync(new() { ["AgentStack__Dashboard__SignInToken"] = SignInToken });
        var demo = await ResearchAgentApp.RunAsync(new DemoOptions
        {
            Runs = DemoRuns,
            BackfillDays = BackfillDays,
            Endpoint = Server.BaseAddress,
            ApiKey = ServerProcess.BootstrapKey,
            ForceLocalModel = true,
        }, TextWriter.Null, CancellationToken.None);
        demo.ExitCode.ShouldBe(0, $"the demo agent failed: {demo.Statistics.LastError}");
        demo.Statistics.Dropped.ShouldBe(0);
        await Server.WaitForProjectionAsync();
        // Issue 15.5: the detectors' findings over the demo's spans, then their rows, before any page shows them.
        foreach (var projection in new[] { "detections", "findings" })
        {
            using var wait = await Server.Client.GetAsync(new Uri($"/api/projections/{projection}/wait?timeoutSeconds=120", UriKind.Relative));
            wait.IsSuccessStatusCode.ShouldBeTrue(await wait.Content.ReadAsStringAsync());
        }

        var runs = new List<Run>();
        foreach (var run in demo.Runs)
        {
            var trace = await Server.Client.GetFromJsonAsync<JsonNode>(new Uri($"/api/projects/default/traces/{run.TraceId}", UriKind.Relative));
            var root = trace!["spans"]!.AsArray().Single(s => s!["parentSpanId"] is null)!;
            runs.Add(new Run(run, DateTimeOffset.Parse(root["startTime"]!.GetValue<string>(), CultureInfo.InvariantCulture)));
        }
        Runs = runs;

        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await Playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            // docs/environment.md: what headless Chromium needs as root on this machine.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
    }

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null)
            await Browser.DisposeAsync();
        Playwright?.Dispose();
        if (Server is not null)
            await Server.DisposeAsync();
    }
}

public sealed class WatchedPage : IAsyncDisposable
{
    private readonly List<string> errors = [];

    private WatchedPage(IBrowserContext context, IPage page)
    {
        Context = context;
        Page = page;
        page.Console += (_, message) => { if (message.Type == "error") lock (errors) errors.Add($"console: {message.Text} ({message.Location})"); };
        page.PageError += (_, error) => { lock (errors) errors.Add($"page error: {error}"); };
    }

    public IBrowserContext Context { get; }
    public IPage Page { get; }
    public IReadOnlyList<string> Errors { get { lock (errors) return errors.ToList(); } }

    public static Task<WatchedPage> OpenAsync(DashboardFixture fixture, int width = 1280, int height = 800, string? storageState = null) =>
        OpenAsync(fixture, fixture.Server.BaseAddress, width, height, storageState);

    /// <summary>A page on another server than the fixture's (a test class that fills a server of its own).</summary>
    public static async Task<WatchedPage> OpenAsync(DashboardFixture fixture, Uri baseAddress, int width = 1280, int height = 800, string? storageState = null)
    {
        var context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = baseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = width, Height = height },
            StorageState = storageState,
            ReducedMotion = ReducedMotion.Reduce,
        });
        context.SetDefaultTimeout(15_000);
        return new WatchedPage(context, await context.NewPageAsync());
    }

    public async Task ScreenshotAsync(DashboardFixture fixture, string name)
    {
        var size = Page.ViewportSize!;
        await Page.ScreenshotAsync(new PageScreenshotOptions
        {
            Path = Path.Combine(fixture.Screenshots, $"{name}-{size.Width}x{size.Height}.png"),
            FullPage = false,
        });
    }

    public void ShouldHaveNoErrors() => Errors.ShouldBeEmpty();

    public async ValueTask DisposeAsync() => await Context.DisposeAsync();
}
