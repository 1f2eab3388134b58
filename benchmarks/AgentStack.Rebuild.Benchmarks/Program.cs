using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

// Usage: AgentStack.Rebuild.Benchmarks <server dll> [events=1000000] [data dir]
//    or: AgentStack.Rebuild.Benchmarks phases <data dir> [events=100000] [page size=20000] (Phases.cs)
if (args is ["phases", var phasesDir, ..])
{
    if (!File.Exists(Path.Combine(phasesDir, "events.db")))
        await SpanLog.WriteAsync(phasesDir, args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 100_000);
    await Phases.RunAsync(phasesDir, args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 20_000);
    return;
}
// Prints: generation time, live catch-up, rebuild replay rate, and the dashboard's query latency idle and during the rebuild.
var serverDll = Path.GetFullPath(args.Length > 0 ? args[0] : throw new ArgumentException("the path of AgentStack.Server.dll is required"));
var total = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1_000_000;
var dataDir = args.Length > 2 ? args[2] : Path.Combine(Path.GetTempPath(), "agentstack-rebuild-bench", Guid.NewGuid().ToString("N"));
Directory.CreateDirectory(dataDir);
const string Key = "ask_rebuild_bench_key_0123456789";
var inv = CultureInfo.InvariantCulture;

// 1. The log (SpanLog.WriteAsync), unless the data directory holds one already (a rerun on the same log).
var clock = Stopwatch.StartNew();
var reused = File.Exists(Path.Combine(dataDir, "events.db"));
if (reused)
    Console.WriteLine($"reusing the log in {dataDir}");
else
    await SpanLog.WriteAsync(dataDir, total);

// 2. The server on that data directory; its live projection applies the whole log first.
var port = FreePort();
var info = new ProcessStartInfo("dotnet", [serverDll]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
info.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
info.Environment["AgentStack__DataDirectory"] = dataDir;
info.Environment["AgentStack__BootstrapApiKey"] = Key;
info.Environment["AgentStack__Otlp__GrpcPort"] = "0";
info.Environment["Logging__LogLevel__Default"] = "Warning";
// The detector projections would still be catching up on the freshly written log (on a CPU budget: minutes for
// a million events) and share the cores with the rebuild; on a running server they are caught up and idle when
// nothing is ingested. DETECTIONS=on keeps them running.
if (Environment.GetEnvironmentVariable("DETECTIONS") != "on")
    info.Environment["AgentStack__Security__Detections__Enabled"] = "false";
if (Environment.GetEnvironmentVariable("PROFILE") is { Length: > 0 })
{
    info.Environment["DOTNET_PerfMapEnabled"] = "1";
    info.Environment["DOTNET_EnableWriteXorExecute"] = "0";
}
using var server = Process.Start(info)!;
server.OutputDataReceived += (_, _) => { };
server.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine("server: " + e.Data); };
server.BeginOutputReadLine();
server.BeginErrorReadLine();
using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromMinutes(10) };
http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Key);
try
{
    clock.Restart();
    while (true)
    {
        try
        {
            if ((await http.GetAsync(new Uri("/health/ready", UriKind.Relative))).IsSuccessStatusCode)
                break;
        }
        catch (HttpRequestException) { }
        if (server.HasExited)
            throw new InvalidOperationException("the server exited");
        await Task.Delay(200);
    }
    while (!(await http.GetAsync(new Uri("/api/projections/analytics/wait?timeoutSeconds=300", UriKind.Relative))).IsSuccessStatusCode) { }
    var catchUp = clock.Elapsed.TotalSeconds;
    Console.WriteLine(reused
        ? string.Create(inv, $"live projection caught up in {catchUp:0.0} s (log reused: it may have been applied before)")
        : string.Create(inv, $"live projection caught up from 0 in {catchUp:0.0} s (server start included): {total / catchUp:N0} events/s"));

    // The other projections catch up too before anything is measured (the anomaly baselines live in memory, so a
    // started server replays the whole log into them): a rebuild is measured on a server with nothing else to do.
    clock.Restart();
    while (true)
    {
        var status = await http.GetFromJsonAsync<JsonObject>(new Uri("/api/projections", UriKind.Relative));
        var behind = status!["projections"]!.AsArray().Where(p => p!["lag"]!.GetValue<long>() > 0).Select(p => p!["name"]!.GetValue<string>()).ToList();
        if (behind.Count == 0)
            break;
        if (clock.Elapsed > TimeSpan.FromMinutes(15))
            throw new TimeoutException($"projections still behind after 15 minutes: {string.Join(", ", behind)}");
        await Task.Delay(500);
    }
    Console.WriteLine(string.Create(inv, $"every other projection caught up {clock.Elapsed.TotalSeconds:0.0} s later"));

    // 3. The dashboard's reads, idle: the trace list and the error-rate chart, one after the other.
    var from = Uri.EscapeDataString(DateTimeOffset.UtcNow.AddDays(-2).ToString("O", inv));
    var to = Uri.EscapeDataString(DateTimeOffset.UtcNow.ToString("O", inv));
    // QUERY_INTERVAL_MS: one round of the two queries per interval (default 1000: a dashboard page refreshing every
    // second; the trace list's live mode refreshes every 5 s); 0 runs them back to back, a reader that never pauses.
    var interval = TimeSpan.FromMilliseconds(int.Parse(Environment.GetEnvironmentVariable("QUERY_INTERVAL_MS") is { Length: > 0 } ms ? ms : "1000", inv));
    Console.WriteLine(string.Create(inv, $"dashboard reads: the trace list and the error chart every {interval.TotalMilliseconds:0} ms{(interval == TimeSpan.Zero ? " (back to back)" : "")}"));
    string[] queries = ["/api/projects/default/traces?limit=50", $"/api/projects/default/overview/errors?from={from}&to={to}&bucket=hour"];
    var idle = await ReadAsync(http, queries, interval, TimeSpan.FromSeconds(15), () => false);
    Report("idle", idle);

    // 4. The rebuild, with the same reads going on until it has switched.
    // PROFILE=<file>: perf samples the server while it rebuilds (the same settings as load/bench.sh's PROFILE).
    using var perf = Environment.GetEnvironmentVariable("PROFILE") is { Length: > 0 } perfData
        ? Process.Start("perf", ["record", "-F", "499", "-g", "-o", perfData, "-p", server.Id.ToString(inv)])
        : null;
    var cpuBefore = CpuSeconds(server);
    clock.Restart();
    (await http.PostAsync(new Uri("/api/projections/analytics/rebuild", UriKind.Relative), null)).EnsureSuccessStatusCode();
    JsonNode? rebuild = null;
    double? replayed = null;
    var polling = Task.Run(async () =>
    {
        while (true)
        {
            var status = await http.GetFromJsonAsync<JsonObject>(new Uri("/api/projections", UriKind.Relative));
            rebuild = status!["projections"]!.AsArray().Single(p => p!["name"]!.GetValue<string>() == "analytics")!["rebuild"];
            var phase = rebuild?["phase"]?.GetValue<string>();
            if (phase is "switching" or "done")
                replayed ??= clock.Elapsed.TotalSeconds;
            if (phase is "done" or "failed")
                return;
            await Task.Delay(250);
        }
    });
    var during = await ReadAsync(http, queries, interval, TimeSpan.FromHours(1), () => polling.IsCompleted);
    await polling;
    var switched = clock.Elapsed.TotalSeconds;
    var cpu = CpuSeconds(server) - cpuBefore;
    if (perf is not null)
    {
        await Process.Start("kill", ["-INT", perf.Id.ToString(inv)]).WaitForExitAsync();
        await perf.WaitForExitAsync();
    }
    Console.WriteLine(string.Create(inv, $"rebuild: {rebuild?.ToJsonString()}"));
    Console.WriteLine(string.Create(inv,
        $"rebuild replayed {total:N0} events in {replayed:0.0} s: {total / replayed:N0} events/s; switched after {switched:0.0} s ({total / switched:N0} events/s overall)"));
    Console.WriteLine(string.Create(inv,
        $"server CPU during the rebuild: {cpu:0.0} s over {switched:0.0} s ({cpu / switched:0.00} cores), {cpu * 1e6 / total:0.0} µs of CPU per event"));
    Report("during rebuild", during);
}
finally
{
    server.Kill();
    await server.WaitForExitAsync();
}

// The dashboard's reads: both queries, then a pause until `interval` has passed since they started (0: back to back).
static async Task<List<double>> ReadAsync(HttpClient http, string[] queries, TimeSpan interval, TimeSpan duration, Func<bool> stop)
{
    var latencies = new List<double>();
    var until = DateTime.UtcNow + duration;
    while (DateTime.UtcNow < until && !stop())
    {
        var round = Stopwatch.StartNew();
        foreach (var query in queries)
        {
            var watch = Stopwatch.StartNew();
            using var response = await http.GetAsync(new Uri(query, UriKind.Relative));
            await response.Content.ReadAsByteArrayAsync();
            response.EnsureSuccessStatusCode();
            latencies.Add(watch.Elapsed.TotalMilliseconds);
        }
        while (round.Elapsed < interval && DateTime.UtcNow < until && !stop())
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(50, (interval - round.Elapsed).TotalMilliseconds + 1)));
    }
    return latencies;
}

static void Report(string when, List<double> latencies)
{
    latencies.Sort();
    double P(double q) => latencies.Count == 0 ? 0 : latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(q * latencies.Count) - 1)];
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"dashboard queries {when}: {latencies.Count} requests, p50 {P(0.5):0.0} ms, p99 {P(0.99):0.0} ms, max {(latencies.Count == 0 ? 0 : latencies[^1]):0.0} ms"));
}


// The server's user + system CPU time so far (every thread, chDB's included), from /proc.
static double CpuSeconds(Process process)
{
    process.Refresh();
    return process.TotalProcessorTime.TotalSeconds;
}

static int FreePort()
{
    using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
    listener.Start();
    return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
}
