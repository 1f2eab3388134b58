// Seeds an embedded (SQLite) log with trace streams, signs a checkpoint over it, then times what an
// auditor runs: verification of the whole project and the signed export of it (BENCHMARKS.md).
// usage: dotnet run -c Release --project benchmarks/AgentStack.Audit.Benchmarks -- [events] [events per stream] [payload bytes]
using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using AgentStack.Audit;
using AgentStack.Events;
using AgentStack.EventStore.Sqlite;

var events = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 200_000;
var perStream = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 10;
var payloadBytes = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 600;
var directory = Path.Combine(Path.GetTempPath(), "agentstack-audit-bench", Guid.NewGuid().ToString("N"));
Directory.CreateDirectory(directory);
try
{
    var time = TimeProvider.System;
    await using var store = new SqliteEventStore(new SqliteEventStoreOptions(Path.Combine(directory, "events.db")), time);
    var filler = new string('x', Math.Max(0, payloadBytes - 80));
    var seed = Stopwatch.StartNew();
    var streams = events / perStream;
    const int streamsPerAppend = 100;
    for (var first = 0; first < streams; first += streamsPerAppend)
    {
        var appends = Enumerable.Range(first, Math.Min(streamsPerAppend, streams - first)).Select(s => new StreamAppend(
            TraceStream.Name("bench", $"t{s:D8}"), StreamAppend.NoStream,
            Enumerable.Range(0, perStream).Select(v => new EventData("span.completed.v1",
                Encoding.UTF8.GetBytes("{\"project\":\"bench\",\"span\":{\"spanId\":\"s" + v + "\",\"input\":\"" + filler + "\"}}"))).ToList())).ToList();
        await store.AppendAsync(appends, CancellationToken.None);
    }
    Console.WriteLine($"seeded {streams * perStream:N0} events in {streams:N0} streams ({payloadBytes} B payloads) in {seed.Elapsed.TotalSeconds:F1} s");

    var raw = new RawEventStore(store);
    var checkpoints = new SqliteCheckpointStore(Path.Combine(directory, SqliteCheckpointStore.DefaultFileName));
    await checkpoints.InitializeAsync(CancellationToken.None);
    using var key = AuditKey.LoadOrCreate(Path.Combine(directory, AuditKey.DefaultFileName));
    var sw = Stopwatch.StartNew();
    var checkpoint = await new Checkpointer(raw, checkpoints, key, time).CreateAsync(CancellationToken.None);
    Report("checkpoint (first, whole log)", checkpoint!.TreeSize, sw.Elapsed);

    for (var run = 1; run <= 2; run++)
    {
        sw.Restart();
        var report = await new LogVerifier(raw, checkpoints, key.Public).VerifyAsync(VerificationScope.Project("bench"), null, null, CancellationToken.None);
        if (!report.Valid) throw new InvalidOperationException("the seeded log does not verify");
        Report($"verify project, run {run}", report.EventsChecked, sw.Elapsed);

        sw.Restart();
        var writer = new AuditExportWriter(raw, new StoredBytesPresenter(), key, checkpoints, time);
        var output = new CountingStream();
        var pipe = PipeWriter.Create(output);
        var exported = await writer.WriteAsync(pipe, "bench", null, null, null, CancellationToken.None);
        await pipe.CompleteAsync();
        Report($"export project, run {run} ({output.Length / 1_048_576.0:F0} MiB)", exported, sw.Elapsed);
    }
    Console.WriteLine($"peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1_048_576} MiB");
}
finally
{
    Directory.Delete(directory, recursive: true);
}

static void Report(string what, long count, TimeSpan elapsed) =>
    Console.WriteLine($"{what}: {count:N0} events in {elapsed.TotalSeconds:F2} s = {count / elapsed.TotalSeconds:N0} events/s");

/// <summary>Discards what is written and counts it: the export's own cost, without a disk or a network.</summary>
internal sealed class CountingStream : Stream
{
    private long length;
    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => length;
    public override long Position { get => length; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => length += count;
    public override void Write(ReadOnlySpan<byte> buffer) => length += buffer.Length;
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        length += buffer.Length;
        return ValueTask.CompletedTask;
    }
}
