using AgentStack.ChDbHttpServer;
using AgentStack.Projections.Analytics.ChDb;

var builder = WebApplication.CreateBuilder(args);
// ClickHouse's HTTP port unless ASPNETCORE_URLS / --urls says otherwise.
builder.WebHost.UseUrls(builder.Configuration["urls"] ?? "http://127.0.0.1:8123");
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
