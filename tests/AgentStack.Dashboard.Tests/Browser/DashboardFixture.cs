using AgentStack.Testing;
using Microsoft.Playwright;

namespace AgentStack.Dashboard.Tests.Browser;

/// <summary>
/// One server filled with agent runs, and one real headless Chromium (Debian's /usr/bin/chromium, never a
/// Playwright download) for the browser tests of a class.
/// </summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    /// <summary>Fixed for tests only (AgentStack__Dashboard__SignInToken); still one use, still expiring.</summary>
    public const string SignInToken = "dashboard-test-sign-in-token-0123456789";

    public ServerProcess Server { get; private set; } = null!;
    public IReadOnlyList<AgentRuns.Run> Runs { get; private set; } = [];
    public IPlaywright Playwright { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;
    public string Screenshots { get; } = Path.Combine(AppContext.BaseDirectory, "screenshots");

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(Screenshots);
        Server = await ServerProcess.StartAsync(new() { ["AgentStack__Dashboard__SignInToken"] = SignInToken });
        Runs = await AgentRuns.SendAsync(Server.Client, 8);
        await Server.WaitForProjectionAsync();
        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await Playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            // shared/ENVIRONMENT.md: what headless Chromium needs as root on this machine.
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

/// <summary>A page that records every console error and uncaught exception, so a test can fail on any.</summary>
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

    public static async Task<WatchedPage> OpenAsync(DashboardFixture fixture, int width = 1280, int height = 800, string? storageState = null)
    {
        var context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = fixture.Server.BaseAddress.ToString(),
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
