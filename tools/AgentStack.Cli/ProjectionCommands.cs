using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AgentStack.Cli;

/// <summary>
/// <c>agentstack projections status|rebuild|parity</c> (issue 14.6; docs/projections.md): the operators'
/// view of a running server through its projection endpoints (<c>/api/projections</c>, admin key). Exit
/// codes: 0 done (parity equal), 1 refused, failed or unequal, 2 usage error or the server unreachable.
/// </summary>
public static class ProjectionCommands
{
    public const int Ok = 0, Failed = 1, Usage = 2;

    public const string Help = """
        usage:
          agentstack projections status  [--url URL] [--key KEY] [--json]
          agentstack projections rebuild [--url URL] [--key KEY] [--name analytics] [--no-wait] [--interval SECONDS]
          agentstack projections parity  [--url URL] [--key KEY] [--name analytics]
        --url defaults to $AGENTSTACK_URL, then http://localhost:5000; --key to $AGENTSTACK_API_KEY (an admin key).
        rebuild starts a rebuild and prints its progress (position/head, events/s, ETA) until it has switched.
        parity prints the last rebuild's comparison of the rebuilt tables with the incremental ones.
        exit codes: 0 done (parity equal), 1 refused, failed or unequal, 2 usage error or server unreachable
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, HttpMessageHandler? handler = null)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            await (args.Length == 0 ? stderr : stdout).WriteLineAsync(Help);
            return args.Length == 0 ? Usage : Ok;
        }
        try
        {
            var o = Options.Parse(args.Skip(1).ToArray(), ["--url", "--key", "--name", "--interval", "--json", "--no-wait"], ["--json", "--no-wait"]);
            var url = o.Get("--url") ?? Environment.GetEnvironmentVariable("AGENTSTACK_URL") ?? "http://localhost:5000";
            if (!Uri.TryCreate(url, UriKind.Absolute, out var baseAddress) || baseAddress.Scheme is not ("http" or "https"))
                throw new UsageException($"--url must be an http(s) URL (was '{url}')");
            var key = o.Get("--key") ?? Environment.GetEnvironmentVariable("AGENTSTACK_API_KEY")
                ?? throw new UsageException("an admin key is needed: --key KEY or $AGENTSTACK_API_KEY");
            using var http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
            http.BaseAddress = baseAddress;
            http.Timeout = TimeSpan.FromSeconds(30);
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            var name = o.Get("--name") ?? "analytics";
            return args[0] switch
            {
                "status" => await StatusAsync(http, o.Has("--json"), stdout, stderr),
                "rebuild" => await RebuildAsync(http, name, !o.Has("--no-wait"), Interval(o), stdout, stderr),
                "parity" => await ParityAsync(http, name, stdout, stderr),
                _ => throw new UsageException($"unknown projections command '{args[0]}'"),
            };
        }
        catch (UsageException e)
        {
            await stderr.WriteLineAsync($"agentstack: {e.Message}\n\n{Help}");
            return Usage;
        }
        catch (HttpRequestException e)
        {
            await stderr.WriteLineAsync($"agentstack: the server could not be reached: {e.Message}");
            return Usage;
        }
        catch (ServerException e)
        {
            await stderr.WriteLineAsync($"agentstack: {e.Message}");
            return e.Status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden ? Usage : Failed;
        }
    }

    private static TimeSpan Interval(Options o) =>
        o.Get("--interval") is { } text
            ? double.TryParse(text, CultureInfo.InvariantCulture, out var s) && s is > 0 and <= 3600 ? TimeSpan.FromSeconds(s)
                : throw new UsageException("--interval must be a number of seconds")
            : TimeSpan.FromSeconds(1);

    private static async Task<int> StatusAsync(HttpClient http, bool json, TextWriter stdout, TextWriter stderr)
    {
        var status = await GetStatusAsync(http);
        if (json)
        {
            await stdout.WriteLineAsync(status.ToJsonString());
            return Ok;
        }
        var head = status["logPosition"]?.GetValue<long>() ?? 0;
        await stdout.WriteLineAsync(Invariant($"log head {head:N0}"));
        foreach (var p in status["projections"]?.AsArray() ?? [])
        {
            if (p is null)
                continue;
            var error = p["lastError"] is { } e ? $", last error: {e}" : "";
            await stdout.WriteLineAsync(Invariant(
                $"{p["name"]}: {p["state"]} at {p["position"]?.GetValue<long>() ?? 0:N0}/{head:N0}, lag {p["lag"]?.GetValue<long>() ?? 0:N0} events ({Number(p["lagSeconds"]):0.###} s), {Number(p["rate"]):N0} events/s{error}"));
            if (p["rebuild"] is JsonObject rebuild)
                await stdout.WriteLineAsync("  rebuild " + Progress(rebuild));
        }
        return Ok;
    }

    private static async Task<int> RebuildAsync(HttpClient http, string name, bool wait, TimeSpan interval, TextWriter stdout, TextWriter stderr)
    {
        using (var response = await http.PostAsync(new Uri($"/api/projections/{Uri.EscapeDataString(name)}/rebuild", UriKind.Relative), null))
        {
            if (response.StatusCode != HttpStatusCode.Accepted)
                throw await ServerException.FromAsync(response, $"rebuild of {name}");
        }
        await stdout.WriteLineAsync($"rebuild of {name} started");
        if (!wait)
            return Ok;
        string? last = null;
        while (true)
        {
            var projection = Find(await GetStatusAsync(http), name);
            if (projection?["rebuild"] is JsonObject rebuild)
            {
                var line = Progress(rebuild);
                if (line != last)
                    await stdout.WriteLineAsync(line);
                last = line;
                switch (rebuild["phase"]?.GetValue<string>())
                {
                    case "done":
                        await stdout.WriteLineAsync(ParityLine(rebuild["parity"]));
                        return Ok;
                    case "failed":
                        await stderr.WriteLineAsync($"agentstack: the rebuild failed: {rebuild["error"]}; a new request resumes it");
                        return Failed;
                }
            }
            await Task.Delay(interval);
        }
    }

    private static async Task<int> ParityAsync(HttpClient http, string name, TextWriter stdout, TextWriter stderr)
    {
        var projection = Find(await GetStatusAsync(http), name) ?? throw new ServerException(HttpStatusCode.NotFound, $"no projection named {name}");
        if (projection["rebuild"]?["parity"] is not JsonObject parity)
        {
            await stderr.WriteLineAsync($"agentstack: no parity report for {name} yet: the check runs at the end of a rebuild (agentstack projections rebuild)");
            return Failed;
        }
        await stdout.WriteLineAsync(ParityLine(parity));
        foreach (var table in new[] { "spans", "traces" })
        {
            if (parity[table] is not JsonObject t)
                continue;
            await stdout.WriteLineAsync(Invariant(
                $"  {t["table"]}: {t["rows"]?.GetValue<long>() ?? 0:N0} rows, checksum {t["checksum"]}; {t["otherTable"]}: {t["otherRows"]?.GetValue<long>() ?? 0:N0} rows, checksum {t["otherChecksum"]}"));
        }
        return parity["equal"]?.GetValue<bool>() == true ? Ok : Failed;
    }

    /// <summary>One line of a rebuild's progress: phase, done/total (percent), events/s and the time left.</summary>
    public static string Progress(JsonObject rebuild)
    {
        var done = rebuild["done"]?.GetValue<long>() ?? 0;
        var total = rebuild["total"]?.GetValue<long>() ?? 0;
        var percent = total > 0 ? 100.0 * done / total : 0;
        var eta = rebuild["etaSeconds"] is { } e ? Duration(Number(e)) : "unknown";
        return Invariant($"v{rebuild["version"]} {rebuild["phase"]}: {done:N0}/{total:N0} ({percent:0.0}%), {Number(rebuild["rate"]):N0} events/s, ETA {eta}");
    }

    private static string ParityLine(JsonNode? parity) => parity is null ? "parity: not checked"
        : parity["equal"]?.GetValue<bool>() == true ? "parity: equal (the rebuilt tables hold the incremental rows)"
        : "parity: DIFFERENT (the rebuilt tables do not hold the incremental rows)";

    private static string Duration(double seconds) =>
        seconds < 60 ? Invariant($"{seconds:0} s") : seconds < 3600 ? Invariant($"{seconds / 60:0.0} min") : Invariant($"{seconds / 3600:0.0} h");

    private static double Number(JsonNode? node) => node?.GetValue<double>() ?? 0;

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static JsonObject? Find(JsonObject status, string name) =>
        status["projections"]?.AsArray().OfType<JsonObject>().FirstOrDefault(p => p["name"]?.GetValue<string>() == name);

    private static async Task<JsonObject> GetStatusAsync(HttpClient http)
    {
        using var response = await http.GetAsync(new Uri("/api/projections", UriKind.Relative));
        if (!response.IsSuccessStatusCode)
            throw await ServerException.FromAsync(response, "GET /api/projections");
        return JsonNode.Parse(await response.Content.ReadAsStringAsync()) as JsonObject
            ?? throw new ServerException(response.StatusCode, "GET /api/projections answered something other than a JSON object");
    }

    /// <summary>An answer other than the one asked for, with the server's ProblemDetails title and detail when it gave them.</summary>
    private sealed class ServerException(HttpStatusCode status, string message) : Exception(message)
    {
        public HttpStatusCode Status { get; } = status;

        public static async Task<ServerException> FromAsync(HttpResponseMessage response, string what)
        {
            var body = await response.Content.ReadAsStringAsync();
            string? detail = null;
            try
            {
                if (JsonNode.Parse(body) is JsonObject problem)
                    detail = string.Join(": ", new[] { problem["title"]?.ToString(), problem["detail"]?.ToString() }.Where(s => !string.IsNullOrEmpty(s)));
            }
            catch (JsonException)
            {
            }
            var hint = response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden ? " (an admin key is needed)" : "";
            return new ServerException(response.StatusCode,
                $"{what}: {(int)response.StatusCode} {response.ReasonPhrase}{hint}{(string.IsNullOrEmpty(detail) ? "" : $": {detail}")}");
        }
    }
}
