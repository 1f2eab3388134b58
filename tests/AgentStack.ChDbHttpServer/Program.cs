using AgentStack.ChDbHttpServer;
using AgentStack.Projections.Analytics.ChDb;

var builder = WebApplication.CreateBuilder(args);
// ClickHouse's HTTP port unless ASPNETCORE_URLS / --urls says otherwise. Port 0 picks a free port,
// which the announcement below reports.
builder.WebHost.UseUrls(builder.Configuration["urls"] ?? "http://127.0.0.1:8123");
// ClickHouse accepts URLs up to 1 MiB (http_max_uri_size) and query parameters travel in the URL;
// Kestrel's 8 KiB default would refuse statements a real server runs.
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.Limits.MaxRequestLineSize = 1 << 20;
    kestrel.Limits.MaxRequestBufferSize = 2 << 20;
});
builder.Services.AddChDbAnalytics(options =>
{
    if (string.IsNullOrWhiteSpace(options.DataPath))
    {
        options.DataPath = Path.Combine(Environment.CurrentDirectory, ".data", "chdb-http");
    }
});
builder.Services.AddRequestDecompression();

var app = builder.Build();
app.UseRequestLog();
app.UseRequestDecompression();
app.MapClickHouseHttp();

// The engine boots before the server listens, so an answer to /ping means statements run; a boot
// that fails or stalls ends the process with its reason instead of stalling the first client.
await EngineStartup.BootAsync(app.Services);
await app.StartAsync();
EngineStartup.AnnounceAddresses(app.Urls);
await app.WaitForShutdownAsync();
