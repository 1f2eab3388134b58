using AgentStack.ChDbHttpServer;
using AgentStack.Projections.Analytics.ChDb;

var builder = WebApplication.CreateBuilder(args);
// ClickHouse's HTTP port unless ASPNETCORE_URLS / --urls says otherwise.
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
app.Run();
