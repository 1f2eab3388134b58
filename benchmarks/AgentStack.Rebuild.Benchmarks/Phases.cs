using System.Diagnostics;
using System.Globalization;
using AgentStack.Erasure.Sealing;
using AgentStack.EventStore.Sqlite;
using AgentStack.Events;
using AgentStack.Projections.Analytics.ChDb;
using AgentStack.Projections.Spans;
using AgentStack.Projections.Spans.Rebuilding;

/// <summary>
/// The rebuild's phases timed one by one in this process, over a log the main benchmark wrote (issue 14):
/// reading the log in pages (raw, then opening its sealed payloads as the server does), decoding events into rows, encoding the rows for ClickHouse, and chDB's inserts.
/// Usage: AgentStack.Rebuild.Benchmarks phases [data dir with events.db] [page size]
/// </summary>
internal static class Phases
{
    public static async Task RunAsync(string dataDir, int pageSize)
    {
        var inv = CultureInfo.InvariantCulture;
        await using var store = new SqliteEventStore(new SqliteEventStoreOptions(Path.Combine(dataDir, "events.db")), TimeProvider.System);
        var read = Stopwatch.StartNew();
        var batches = await ReadAllAsync(store, pageSize);
        read.Stop();
        var events = batches.Sum(b => (long)b.Count);
        Line("read the log", read.Elapsed, events);

        // Opening alone (PayloadSealer.Open on each stored payload), on one thread, twice: the second pass is warm.
        var sealer = SpanLog.Sealer(dataDir);
        for (var pass = 1; pass <= 2; pass++)
        {
            var open = Stopwatch.StartNew();
            var bytes = 0L;
            foreach (var batch in batches)
                foreach (var e in batch)
                    bytes += PayloadSealer.Seals(e.Type) ? sealer.Open(e.Data).Length : 0;
            open.Stop();
            Line($"open only, pass {pass}", open.Elapsed, events);
        }

        // The server reads through the sealing store: the same pages, each payload opened with its subject's key.
        var sealing = SpanLog.Sealing(store, dataDir);
        var opening = Stopwatch.StartNew();
        batches = await ReadAllAsync(sealing, pageSize);
        opening.Stop();
        Line("read + open (sealed)", opening.Elapsed, events);

        // What the anomaly projection reads of each completed span: the whole event, then only what its engine uses
        // (CompletedSpanReader), twice each, the second pass warm (issue 13, BENCHMARKS.md "Twenty-fifth sitting").
        var completed = batches.SelectMany(b => b).Where(e => e.Type == EventTypes.SpanCompleted).ToList();
        for (var pass = 1; pass <= 2; pass++)
        {
            var full = Stopwatch.StartNew();
            var seen = 0;
            foreach (var e in completed)
                seen += EventTypes.Deserialize(e.Type, e.Data) is SpanCompleted { Span.EndTime: not null } ? 1 : 0;
            full.Stop();
            Line($"anomalies: deserialise whole, pass {pass}", full.Elapsed, completed.Count);
            var light = Stopwatch.StartNew();
            var lightSeen = 0;
            foreach (var e in completed)
                lightSeen += AgentStack.Anomalies.Detecting.CompletedSpanReader.Read(e.Data) is { Span.EndTime: not null } ? 1 : 0;
            light.Stop();
            Line($"anomalies: CompletedSpanReader, pass {pass}", light.Elapsed, completed.Count);
            if (seen != lightSeen)
                throw new InvalidOperationException($"the reader saw {lightSeen} completed spans, the full read {seen}");
        }

        // The anomaly engine alone over the same completed spans, already read: a new engine each pass, so every
        // pass warms its baselines up from nothing, as a replay of the log does. The anomalies found are counted,
        // so two builds can be checked to find the same ones.
        var spansRead = completed.Select(e => AgentStack.Anomalies.Detecting.CompletedSpanReader.Read(e.Data))
            .Where(r => r is not null).Select(r => r!.Value).ToList();
        for (var pass = 1; pass <= 3; pass++)
        {
            var engine = new AgentStack.Anomalies.Detecting.AnomalyEngine(new AgentStack.Anomalies.Detecting.BaselineOptions());
            var found = 0;
            var observe = Stopwatch.StartNew();
            foreach (var s in spansRead)
                found += engine.Observe(s.Project, s.Span).Count;
            observe.Stop();
            Line($"anomalies: engine, pass {pass}", observe.Elapsed, spansRead.Count);
            Console.WriteLine(string.Create(inv, $"  {found} anomalies, {engine.Series.Values} value series"));
        }

        var decode = Stopwatch.StartNew();
        var rows = batches.Select(SpanRows.Of).ToList();
        decode.Stop();
        Line("decode (SpanRows.Of)", decode.Elapsed, events);

        var encode = Stopwatch.StartNew();
        var encoded = rows.Select(r => (Spans: SpansProjection.SpanRowsJson(r.Spans), Traces: SpansProjection.TraceRowsJson(r.Traces))).ToList();
        encode.Stop();
        Line("encode JSONEachRow", encode.Elapsed, events);
        Console.WriteLine(string.Create(inv, $"  {encoded.Sum(e => (long)e.Spans.Length) / 1e6:0.0} MB spans, {encoded.Sum(e => (long)e.Traces.Length) / 1e6:0.0} MB traces"));

        var chdbPath = Path.Combine(dataDir, "phases-chdb");
        using var analytics = new ChDbAnalyticsStore(new ChDbOptions { DataPath = chdbPath });
        await analytics.ExecuteAsync("CREATE DATABASE IF NOT EXISTS agentstack", null, CancellationToken.None);
        var tables = SpansTables.Version(Environment.TickCount64);
        await SpansSchema.CreateAsync(analytics, tables, CancellationToken.None);
        var spans = TimeSpan.Zero;
        var traces = TimeSpan.Zero;
        foreach (var (s, t) in encoded)
        {
            var watch = Stopwatch.StartNew();
            await analytics.InsertJsonEachRowAsync(tables.Spans, s, CancellationToken.None);
            spans += watch.Elapsed;
            watch.Restart();
            await analytics.InsertJsonEachRowAsync(tables.Traces, t, CancellationToken.None);
            traces += watch.Elapsed;
        }
        Line("chDB insert spans", spans, events);
        Line("chDB insert traces", traces, events);

        // The path the projection takes now: RowBinary straight from the stored JSON, into its own tables.
        var binary = Stopwatch.StartNew();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var binaryRows = batches.Select(batch => SpanRowsBinary.Of(batch)).ToList();
        binary.Stop();
        Line("decode+encode RowBinary", binary.Elapsed, events);
        Console.WriteLine(string.Create(inv, $"  {binaryRows.Sum(e => (long)e.Spans.Length) / 1e6:0.0} MB spans, {binaryRows.Sum(e => (long)e.Traces.Length) / 1e6:0.0} MB traces; CPU {(Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds:0.00} s"));
        var binaryTables = SpansTables.Version(Environment.TickCount64 + 1);
        await SpansSchema.CreateAsync(analytics, binaryTables, CancellationToken.None);
        spans = traces = TimeSpan.Zero;
        foreach (var e in binaryRows)
        {
            var watch = Stopwatch.StartNew();
            await analytics.InsertRowBinaryAsync(binaryTables.Spans, e.Spans, CancellationToken.None);
            spans += watch.Elapsed;
            watch.Restart();
            await analytics.InsertRowBinaryAsync(binaryTables.Traces, e.Traces, CancellationToken.None);
            traces += watch.Elapsed;
        }
        Line("chDB RowBinary spans", spans, events);
        Line("chDB RowBinary traces", traces, events);
        var parity = await ProjectionParity.CompareAsync(analytics, tables, binaryTables, CancellationToken.None);
        Console.WriteLine($"parity JSONEachRow vs RowBinary: {parity}");
        await SpansSchema.DropAsync(analytics, tables, CancellationToken.None);
        await SpansSchema.DropAsync(analytics, binaryTables, CancellationToken.None);

        static async Task<List<IReadOnlyList<StoredEvent>>> ReadAllAsync(IEventStore from, int pageSize)
        {
            var pages = new List<IReadOnlyList<StoredEvent>>();
            long position = 0;
            while (await from.ReadAllAsync(position, pageSize, CancellationToken.None) is { Count: > 0 } page)
            {
                pages.Add(page);
                position = page[^1].Position;
            }
            return pages;
        }

        void Line(string what, TimeSpan took, long count) =>
            Console.WriteLine(string.Create(inv, $"{what,-24} {took.TotalSeconds,8:0.00} s  {count / took.TotalSeconds,12:N0} events/s"));
    }
}
