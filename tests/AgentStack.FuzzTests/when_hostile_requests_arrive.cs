using System.Globalization;
using System.IO.Compression;
using AgentStack.Events;
using AgentStack.EventStore.Sqlite;
using AgentStack.Testing;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace AgentStack.FuzzTests;

/// <summary>
/// Issue 17, the fuzzing suite: more than 10,000 generated hostile or malformed requests against a real
/// server (/v1/spans; /v1/traces as protobuf and JSON; OTLP/gRPC; /v1/guard). After each phase: no 5xx,
/// no hang, the server alive, no more reachable on its heap after a second round of the phase than after the first,
/// its resident size back under a bound, and, read offline from the stopped
/// server's SQLite file, every stream's hash chain intact and exactly as many span events as the accepted
/// requests account for (a refused request wrote nothing). The seed is printed; <c>AGENTSTACK_FUZZ_SEED</c>
/// replays a run.
/// </summary>
public sealed class when_hostile_requests_arrive
{
    private static readonly int Seed = Environment.GetEnvironmentVariable("AGENTSTACK_FUZZ_SEED") is { Length: > 0 } s
        ? int.Parse(s, CultureInfo.InvariantCulture)
        : System.Security.Cryptography.RandomNumberGenerator.GetInt32(int.MaxValue);

    private static int CaseSeed(int phase, int index) => unchecked(Seed * 31 + phase * 1_000_003 + index);

    [Fact]
    public async Task then_native_ingestion_answers_4xx_or_records_whole_batches()
    {
        await using var server = await ServerProcess.StartAsync();
        var baseline = server.ResidentBytes();
        using var run = new FuzzRun(server.BaseAddress, ServerProcess.BootstrapKey);

        var afterFirst = await TwoRoundsAsync(server, round => run.SendAllAsync(5000, i => new HostileRequests(CaseSeed(1 + 10 * round, i)).Native(i)));

        var summary = run.Summary($"fuzz /v1/spans (seed {Seed})");
        TestReport.Write("fuzz", summary);
        await AssertHealthyAsync(server, run, baseline, afterFirst, summary);
        var accepted = run.Outcomes.Sum(FuzzRun.Accepted);
        accepted.ShouldBeGreaterThan(0, "no generated request was well-formed enough to be recorded: the generator is broken");

        await server.StopAsync();
        var log = await LogAudit.ReadAsync(server.DataDirectory);
        log.Breaks.ShouldBeEmpty();
        log.SpanEvents.ShouldBe(accepted, $"the log holds {log.SpanEvents} span events but 200 answers accepted {accepted} spans");
    }

    [Fact]
    public async Task then_otlp_over_http_and_grpc_answers_4xx_or_records_whole_exports()
    {
        var grpcPort = ChildProcesses.FreePort();
        await using var server = await ServerProcess.StartAsync(new Dictionary<string, string>
        {
            ["AgentStack__Otlp__GrpcPort"] = grpcPort.ToString(CultureInfo.InvariantCulture),
        });
        var baseline = server.ResidentBytes();
        using var run = new FuzzRun(server.BaseAddress, ServerProcess.BootstrapKey, grpcPort);

        var afterFirst = await TwoRoundsAsync(server, async round =>
        {
            await run.SendAllAsync(1500, i => new HostileRequests(CaseSeed(2 + 10 * round, i)).OtlpProtobuf(i));
            await run.SendAllAsync(1500, i => new HostileRequests(CaseSeed(3 + 10 * round, i)).OtlpJson(i));
            await run.SendAllAsync(1000, i => new HostileRequests(CaseSeed(4 + 10 * round, i)).OtlpProtobuf(i, "grpc"));
        });

        var summary = run.Summary($"fuzz OTLP /v1/traces + gRPC (seed {Seed})");
        TestReport.Write("fuzz", summary);
        await AssertHealthyAsync(server, run, baseline, afterFirst, summary);

        // OTLP answers carry no count: what a successful export recorded is every distinct span it holds
        // (trace ids are fresh per generated request, so nothing else can make a span a duplicate).
        var recorded = new HashSet<(string, string)>();
        foreach (var outcome in run.Outcomes.Where(o => o.Status is 200 or 1000))
            foreach (var span in Decode(outcome.Case).ResourceSpans.SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans))
                recorded.Add((span.TraceId.ToBase64(), span.SpanId.ToBase64()));
        recorded.Count.ShouldBeGreaterThan(0, "no generated export was recorded: the generator is broken");

        await server.StopAsync();
        var log = await LogAudit.ReadAsync(server.DataDirectory);
        log.Breaks.ShouldBeEmpty();
        log.SpanEvents.ShouldBe(recorded.Count, $"the log holds {log.SpanEvents} span events; successful exports held {recorded.Count} spans");
    }

    [Fact]
    public async Task then_the_guard_answers_every_hostile_text_without_failing()
    {
        await using var server = await ServerProcess.StartAsync();
        var baseline = server.ResidentBytes();
        using var run = new FuzzRun(server.BaseAddress, ServerProcess.BootstrapKey);

        var afterFirst = await TwoRoundsAsync(server, round => run.SendAllAsync(1500, i => new HostileRequests(CaseSeed(5 + 10 * round, i)).Guard(i)));

        var summary = run.Summary($"fuzz /v1/guard (seed {Seed})");
        TestReport.Write("fuzz", summary);
        await AssertHealthyAsync(server, run, baseline, afterFirst, summary);
        run.Outcomes.Count(o => o.Status == 200).ShouldBeGreaterThan(0, "no well-formed guard request was answered 200");

        await server.StopAsync();
        var log = await LogAudit.ReadAsync(server.DataDirectory);
        log.Breaks.ShouldBeEmpty();
        log.SpanEvents.ShouldBe(0);
    }

    /// <summary>
    /// Sends a phase's requests twice (round 0, then round 1, each with its own cases) and returns what the server's heap
    /// held after the first (<see cref="ManagedHeap"/>): the first round fills the server's bounded caches (decided trace
    /// states, the opened events' buffer, the anomaly detector's open traces), so the second finds them full. What grows
    /// with each new name (the anomaly baselines, one per model, tool and agent name, up to AgentStack:Anomalies:MaxSeries)
    /// grew by 2-3 MiB in a round.
    /// </summary>
    private static async Task<long> TwoRoundsAsync(ServerProcess server, Func<int, Task> round)
    {
        await round(0);
        var afterFirst = await ManagedHeap.LiveBytesAsync(server.ProcessId, TimeSpan.FromSeconds(30));
        await round(1);
        return afterFirst;
    }

    private static async Task AssertHealthyAsync(ServerProcess server, FuzzRun run, long baseline, long liveAfterFirst, string summary)
    {
        run.Outcomes.Count(FuzzRun.IsServerError).ShouldBe(0, $"{summary}\n{run.Failures()}");
        // Invalid UTF-8 anywhere in a JSON body is refused: accepted, it would be served back as invalid JSON.
        var acceptedInvalid = run.Outcomes.Where(o => o.Case.ContentType == "application/json"
            && o.Case.Mutation.Contains("invalid UTF-8", StringComparison.Ordinal) && o.Status is >= 200 and < 300).ToList();
        acceptedInvalid.ShouldBeEmpty(string.Join('\n', acceptedInvalid.Take(5).Select(o => $"case {o.Case.Index} {o.Case.Target} ({o.Case.Mutation}): {o.Status}")));
        run.Outcomes.Count(o => o.Hung).ShouldBe(0, $"{summary}\n{run.Failures()}");
        using var live = await server.Client.GetAsync(new Uri("/health/live", UriKind.Relative));
        ((int)live.StatusCode).ShouldBe(200, "the server stopped answering after the run");

        // Memory, on the heap: what a round allocated is garbage once it ends, and what the first round left reachable is
        // the caches it filled, so the second round leaves as much reachable again, give or take what the caches still
        // took. A leak of the requests stays: a round of the native phase sends 200-230 MiB of bodies, and its gzip bombs
        // expand to far more. Measured on that phase: 181-249 MiB reachable after the first round, 2-3 MiB more after
        // the second; with the accepted bodies kept on purpose, 263 MiB more, and the check failed.
        var reachable = await ManagedHeap.LiveBytesAsync(server.ProcessId, TimeSpan.FromSeconds(30));
        reachable.ShouldBeLessThanOrEqualTo(liveAfterFirst + 64L * 1024 * 1024,
            $"the second round left {(reachable - liveAfterFirst) / 1048576} MiB more reachable on the server's heap than the first ({liveAfterFirst / 1048576} MiB): a leak");

        // And resident: Server GC returns freed memory lazily, and chDB and SQLite keep their bounded caches in native
        // memory, so wait for the resident size to come back under a bound of the baseline (a condition, with a bound);
        // native memory that a round left behind (a decompressor's buffers, say) stays above it. Measured after the two
        // rounds of the native phase: 900-1,110 MiB from a baseline of 390 MiB (and 1,126 MiB after one round on a CI
        // machine, over the 2.5x that was the bound); the heap alone cannot tell a leak of native memory.
        var limit = Math.Max(baseline * 3, baseline + 1024L * 1024 * 1024);
        await Eventually.UntilAsync(() => server.ResidentBytes() <= limit, TimeSpan.FromSeconds(60),
            () => $"resident memory {server.ResidentBytes() / 1048576} MiB did not come back under {limit / 1048576} MiB (baseline {baseline / 1048576} MiB)");
    }

    private static ExportTraceServiceRequest Decode(FuzzCase fuzz)
    {
        var body = fuzz.Body;
        if (fuzz.ContentEncoding == "gzip")
        {
            using var input = new GZipStream(new MemoryStream(body), CompressionMode.Decompress);
            using var output = new MemoryStream();
            input.CopyTo(output);
            body = output.ToArray();
        }
        return fuzz.ContentType == "application/json"
            ? AgentStack.Otlp.Receiving.OtlpJson.Parse(body, 64)
            : ExportTraceServiceRequest.Parser.ParseFrom(body);
    }
}

/// <summary>The stopped server's log, read through the SQLite adapter: chain breaks per stream and the number of span events.</summary>
public sealed record LogAudit(IReadOnlyList<ChainBreak> Breaks, int SpanEvents, long Events)
{
    public static async Task<LogAudit> ReadAsync(string dataDirectory)
    {
        await using var store = new SqliteEventStore(new SqliteEventStoreOptions(Path.Combine(dataDirectory, "events.db")), TimeProvider.System);
        var streams = new Dictionary<string, List<StoredEvent>>(StringComparer.Ordinal);
        long position = 0, events = 0;
        var spanEvents = 0;
        while (true)
        {
            var page = await store.ReadAllAsync(position, 5000, CancellationToken.None);
            if (page.Count == 0)
                break;
            foreach (var e in page)
            {
                if (!streams.TryGetValue(e.Stream, out var list))
                    streams[e.Stream] = list = [];
                list.Add(e);
                if (e.Type.StartsWith("span.", StringComparison.Ordinal))
                    spanEvents++;
                events++;
            }
            position = page[^1].Position;
        }
        var breaks = streams.Values.Select(EventHash.Verify).OfType<ChainBreak>().ToList();
        return new LogAudit(breaks, spanEvents, events);
    }
}
