using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

// POST /v1/spans at a fixed rate, open loop (issue 13: p99 and time until queryable at 80% of the peak). wrk keeps a
// fixed number of requests in flight, so it measures peak throughput; here request n is due at start + n / RATE
// whatever happened to the ones before, and its latency is counted from when it was due, so a server that falls
// behind shows it in the percentiles instead of slowing the load down. The bodies are load/spans.lua's: TRACES
// traces x SPANS spans of about 1 KB a request, every span unique, all built before the clock starts.
//
// While the load runs, a sampler takes the first trace of the most recently answered request twice a second and
// polls GET /api/projects/default/traces/{id} (the analytics tables) until it is there: the time from the answer to
// the trace being queryable.
//
//   dotnet load/fixed-rate/bin/Release/net10.0/FixedRate.dll http://127.0.0.1:5099 KEY RATE SECONDS [traces=10] [spans=10]
// Prints requests sent, non-200 answers, latency percentiles from the due time, how far the client itself was behind
// its schedule when it handed each request to its connections, and queryable delays. LATENCY_LOG=<file>: every
// request's due time (s from the start), latency and lateness, as CSV, to see when in the run the slow answers came.
// Used by load/bench.sh when RATE is set. It replaced a Python client whose own lateness on the shared cores (its
// threads waiting for the interpreter lock) reached a p99 of 70-410 ms and was counted as the server's.
if (args.Length is < 4 or > 6)
{
    await Console.Error.WriteLineAsync("usage: FixedRate <url> <key> <requests/s> <seconds> [traces=10] [spans=10]");
    return 2;
}
var invariant = CultureInfo.InvariantCulture;
var target = new Uri(args[0]);
var key = args[1];
var rate = double.Parse(args[2], invariant);
var seconds = double.Parse(args[3], invariant);
var traces = args.Length > 4 ? int.Parse(args[4], invariant) : 10;
var spans = args.Length > 5 ? int.Parse(args[5], invariant) : 10;
var total = (int)(rate * seconds);
if (rate <= 0 || total < 1 || traces < 1 || spans < 1)
{
    await Console.Error.WriteLineAsync("the rate, the seconds, the traces and the spans must be positive, and give at least one request");
    return 2;
}

var load = new SpanLoad(
    $"{RandomNumberGenerator.GetInt32(0x1000000):x6}7f{DateTimeOffset.UtcNow.ToUnixTimeSeconds() % 0xFFFFFFFF:x8}", traces, spans);
var bodies = new byte[total][];
for (var n = 0; n < total; n++)
    bodies[n] = load.Body(n);

// As many connections as the Python client had threads: past them a request waits for a connection, and that wait is
// counted in its latency (it was due).
using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 48 })
{
    BaseAddress = target, Timeout = TimeSpan.FromSeconds(60),
};
client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
using var sampling = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1 })
{
    BaseAddress = target, Timeout = TimeSpan.FromSeconds(60),
};
sampling.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);

// One request before the clock starts, so the first ones timed do not carry the client's own start-up (JIT, the
// first connection).
using (await client.GetAsync(new Uri("/health/ready", UriKind.Relative)))
{
}

var run = new Run(client, bodies, load);
// The client's own CPU while it sends (not the bodies' building), reported beside the server's.
TimeSpan cpuBefore;
using (var self = Process.GetCurrentProcess())
    cpuBefore = self.TotalProcessorTime;
var t0 = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 5;
using var stop = new CancellationTokenSource();
var sampler = run.SampleQueryableAsync(sampling, stop.Token);
await Task.WhenAll(run.Dispatch(total, rate, t0));
var elapsed = Stopwatch.GetElapsedTime(t0).TotalSeconds;
await stop.CancelAsync();
await sampler;
run.Report(total, traces * spans, rate, seconds, elapsed, t0, Environment.GetEnvironmentVariable("LATENCY_LOG"));
using (var self = Process.GetCurrentProcess())
    Console.WriteLine(string.Create(invariant,
        $"client CPU: {(self.TotalProcessorTime - cpuBefore).TotalSeconds / elapsed * 100:F0}% of one core while sending"));
return 0;

/// <summary>The requests' bodies: load/spans.lua's spans, span for span.</summary>
internal sealed class SpanLoad(string prefix, int traces, int spans)
{
    private const string Filler = "The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the lazy dog. " +
        "The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the lazy dog. " +
        "The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the lazy dog. ";

    private static readonly string[] Kinds = ["agent", "llm", "tool", "llm", "retrieval", "llm", "tool", "llm", "chain", "llm"];

    private readonly string start = Stamp(DateTimeOffset.UtcNow.AddSeconds(-120));
    private readonly string finish = Stamp(DateTimeOffset.UtcNow.AddSeconds(-60));

    /// <summary>The first trace of request <paramref name="n"/>: the one the queryable sampler looks for.</summary>
    public string FirstTrace(int n) => Trace(n, 1);

    public byte[] Body(int n)
    {
        var json = new StringBuilder(1100 * traces * spans);
        json.Append("{\"spans\":[");
        for (var t = 1; t <= traces; t++)
        {
            for (var s = 1; s <= spans; s++)
            {
                if (t > 1 || s > 1)
                    json.Append(',');
                json.Append(CultureInfo.InvariantCulture,
                    $"{{\"traceId\":\"{Trace(n, t)}\",\"spanId\":\"{t:x14}{s:x2}\"");
                if (s > 1)
                    json.Append(CultureInfo.InvariantCulture, $",\"parentSpanId\":\"{t:x14}01\"");
                json.Append(CultureInfo.InvariantCulture,
                    $",\"name\":\"step {s}\",\"kind\":\"{Kinds[(s - 1) % 10]}\",\"startTime\":\"{start}.{s * 1000:d6}Z\",");
                json.Append(CultureInfo.InvariantCulture,
                    $"\"endTime\":\"{finish}.{s * 1000:d6}Z\",\"status\":\"{(s == 7 && t % 5 == 0 ? "error" : "ok")}\",");
                json.Append(CultureInfo.InvariantCulture,
                    $"\"model\":\"gpt-4o-mini\",\"provider\":\"openai\",\"inputTokens\":{100 + s},\"outputTokens\":{20 + s},");
                json.Append("\"costUsd\":0.00042,");
                json.Append(CultureInfo.InvariantCulture,
                    $"\"input\":{{\"messages\":[{{\"role\":\"user\",\"content\":\"{Filler} request {n}.{t}.{s}\"}}]}},");
                json.Append(CultureInfo.InvariantCulture,
                    $"\"output\":{{\"role\":\"assistant\",\"content\":\"{Filler} answer {n}.{t}.{s}\"}},");
                json.Append(CultureInfo.InvariantCulture, $"\"attributes\":{{\"agent.name\":\"bench\",\"step\":{s}}}}}");
            }
        }
        json.Append("]}");
        return Encoding.UTF8.GetBytes(json.ToString());
    }

    private string Trace(int n, int t) => string.Create(CultureInfo.InvariantCulture, $"{prefix}{n:x8}{t:x2}");

    private static string Stamp(DateTimeOffset time) => time.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
}

/// <summary>What the requests and the sampler found, under one lock.</summary>
internal sealed class Run(HttpClient client, byte[][] bodies, SpanLoad load)
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");

    private readonly Lock gate = new();
    private readonly List<(long Due, double LatencyMs, double BehindMs)> timeline = [];
    private readonly SortedDictionary<string, int> statuses = new(StringComparer.Ordinal);
    private readonly List<double> delays = [];
    private (string Trace, long AnsweredAt)? lastAnswered;

    /// <summary>
    /// Hands request n to the connections at <paramref name="t0"/> + n / <paramref name="rate"/>, on this thread, and
    /// returns the requests' tasks. Sleeping, not spinning, between two: the cores are the server's; a request goes at
    /// most about a millisecond late, and how late is reported (and counted in its latency).
    /// </summary>
    public Task[] Dispatch(int total, double rate, long t0)
    {
        var sends = new Task[total];
        for (var n = 0; n < total; n++)
        {
            var due = t0 + (long)(n / rate * Stopwatch.Frequency);
            for (long now; (now = Stopwatch.GetTimestamp()) < due;)
                Thread.Sleep(Math.Max(1, (int)((due - now) * 1000 / Stopwatch.Frequency)));
            sends[n] = SendAsync(n, due);
        }
        return sends;
    }

    /// <summary>Sends request <paramref name="n"/>, due at <paramref name="due"/> (a <see cref="Stopwatch"/> timestamp).</summary>
    public async Task SendAsync(int n, long due)
    {
        var handedOver = Stopwatch.GetTimestamp();
        string status;
        try
        {
            using var content = new ByteArrayContent(bodies[n]);
            content.Headers.ContentType = Json;
            using var response = await client.PostAsync(new Uri("/v1/spans", UriKind.Relative), content).ConfigureAwait(false);
            await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
            status = ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            status = "error";
        }
        var answered = Stopwatch.GetTimestamp();
        lock (gate)
        {
            timeline.Add((due, Milliseconds(due, answered), Milliseconds(due, handedOver)));
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            if (status == "200")
                lastAnswered = (load.FirstTrace(n), answered);
        }
    }

    /// <summary>Twice a second, how long the trace of the last answer takes to be queryable (60 s at most).</summary>
    public async Task SampleQueryableAsync(HttpClient sampling, CancellationToken stop)
    {
        (string Trace, long AnsweredAt)? previous = null;
        try
        {
            while (true)
            {
                await Task.Delay(500, stop).ConfigureAwait(false);
                (string Trace, long AnsweredAt)? sample;
                lock (gate)
                    sample = lastAnswered;
                // No answer since the last sample (the server stalled): the same trace again would count the stall as delay.
                if (sample is not { } taken || sample == previous)
                    continue;
                previous = sample;
                while (true)
                {
                    using var response = await sampling.GetAsync(
                        new Uri($"/api/projects/default/traces/{taken.Trace}", UriKind.Relative), CancellationToken.None).ConfigureAwait(false);
                    var waited = Milliseconds(taken.AnsweredAt, Stopwatch.GetTimestamp());
                    if (response.IsSuccessStatusCode || waited > 60_000)
                    {
                        lock (gate)
                            delays.Add(response.IsSuccessStatusCode ? waited : double.PositiveInfinity);
                        break;
                    }
                    await Task.Delay(10, CancellationToken.None).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The load is over.
        }
    }

    public void Report(int total, int spansPerRequest, double rate, double seconds, double elapsed, long t0, string? latencyLog)
    {
        var invariant = CultureInfo.InvariantCulture;
        var latencies = timeline.Select(r => r.LatencyMs).Order().ToArray();
        var lateness = timeline.Select(r => r.BehindMs).Order().ToArray();
        var answers = "{" + string.Join(", ", statuses.Select(s => $"\"{s.Key}\": {s.Value}")) + "}";
        Console.WriteLine(string.Create(invariant,
            $"fixed rate: {total} requests ({spansPerRequest} spans each) at {rate:F1}/s over {seconds:F1} s: sent {total / elapsed:F1}/s; answers {answers}"));
        Console.WriteLine(string.Create(invariant,
            $"latency from the due time: p50 {Percentile(latencies, 50):F1} ms  p90 {Percentile(latencies, 90):F1} ms  " +
            $"p99 {Percentile(latencies, 99):F1} ms  max {latencies[^1]:F1} ms  (over 1 s: {latencies.Count(v => v > 1000)})"));
        Console.WriteLine(string.Create(invariant,
            $"client behind its schedule when sending: p50 {Percentile(lateness, 50):F1} ms  p99 {Percentile(lateness, 99):F1} ms  " +
            $"max {lateness[^1]:F1} ms (counted in the latency above)"));
        var queryable = delays.Order().ToArray();
        var within = queryable.Length == 0 ? double.NaN : 100.0 * queryable.Count(d => d <= 1000) / queryable.Length;
        Console.WriteLine(string.Create(invariant,
            $"queryable after the answer ({queryable.Length} samples): p50 {Percentile(queryable, 50):F0} ms  " +
            $"p95 {Percentile(queryable, 95):F0} ms  max {(queryable.Length == 0 ? double.NaN : queryable[^1]):F0} ms; within 1 s: {within:F0}%"));
        if (string.IsNullOrEmpty(latencyLog))
            return;
        using var log = new StreamWriter(latencyLog);
        log.WriteLine("due_s,latency_ms,behind_ms");
        foreach (var (due, latency, behind) in timeline.OrderBy(r => r.Due))
            log.WriteLine(string.Create(invariant, $"{Milliseconds(t0, due) / 1000:F3},{latency:F1},{behind:F1}"));
    }

    /// <summary>The <paramref name="p"/>-th percentile of sorted values by rank (nearest rank, no interpolation); NaN for none.</summary>
    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(sorted.Length * p / 100))];

    private static double Milliseconds(long from, long to) => (to - from) * 1000.0 / Stopwatch.Frequency;
}
