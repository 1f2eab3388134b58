using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

// alloc-report <trace.nettrace> [rows=15]: the runtime's allocation samples (GC AllocationTick, one per ~100 KB
// allocated) of a dotnet-trace gc-verbose trace, summed by type and by the first frame of AgentStack's own code that
// is not the event store (so the bytes a store read allocates count against whoever asked for the read); the large
// objects among them by caller, since each large allocation draws on the budget whose end is a full collection; and
// the collections of the trace by generation, kind and reason, with the time the runtime held threads suspended; and each
// collection in turn with what it promoted out of each generation and how long it held the threads (what a collection
// copies is what makes its pause).
if (args.Length is < 1 or > 2 || !File.Exists(args[0]))
{
    Console.Error.WriteLine("usage: alloc-report <trace.nettrace> [rows]");
    return 2;
}
var rows = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 15;
using var log = new TraceLog(TraceLog.CreateFromEventPipeDataFile(args[0]));
var byType = new Dictionary<string, long>(StringComparer.Ordinal);
var byCaller = new Dictionary<string, long>(StringComparer.Ordinal);
var largeByCaller = new Dictionary<string, long>(StringComparer.Ordinal);
var collections = new Dictionary<string, long>(StringComparer.Ordinal);
var suspendedAt = new Dictionary<int, double>();
var each = new List<Collection>();
double pausedMs = 0, firstMs = double.NaN, lastMs = 0;
long total = 0, large = 0;
foreach (var e in log.Events)
{
    firstMs = double.IsNaN(firstMs) ? e.TimeStampRelativeMSec : firstMs;
    lastMs = e.TimeStampRelativeMSec;
    switch (e)
    {
        case GCAllocationTickTraceData tick:
            total += tick.AllocationAmount64;
            Add(byType, tick.TypeName ?? "?", tick.AllocationAmount64);
            var caller = Caller(e.CallStack());
            Add(byCaller, caller, tick.AllocationAmount64);
            if (tick.AllocationKind == GCAllocationKind.Large)
            {
                large += tick.AllocationAmount64;
                Add(largeByCaller, $"{tick.TypeName} <- {caller}", tick.AllocationAmount64);
            }
            break;
        case GCStartTraceData start:
            Add(collections, $"gen{start.Depth} {start.Type} ({start.Reason})", 1);
            each.Add(new Collection(start.Count, start.Depth, start.Type.ToString(), start.TimeStampRelativeMSec - firstMs));
            break;
        case GCHeapStatsTraceData stats when each.Count > 0 && each[^1].Promoted is null:
            each[^1].Promoted = [stats.TotalPromotedSize0, stats.TotalPromotedSize1, stats.TotalPromotedSize2];
            break;
        case GCSuspendEETraceData suspend:
            suspendedAt[suspend.ProcessID] = suspend.TimeStampRelativeMSec;
            break;
        case GCNoUserDataTraceData restart when restart.EventName == "GC/RestartEEStop":
            if (suspendedAt.Remove(restart.ProcessID, out var suspended))
            {
                pausedMs += restart.TimeStampRelativeMSec - suspended;
                if (each.Count > 0)
                    each[^1].PausedMs += restart.TimeStampRelativeMSec - suspended;
            }
            break;
    }
}
Console.WriteLine($"allocated (sampled): {total / 1e6:F0} MB, of which large objects: {large / 1e6:F0} MB");
Print("by type", byType);
Print("by caller (first AgentStack frame outside the event store)", byCaller);
Print("large objects (85 KB and over) by type and caller", largeByCaller, large);
Console.WriteLine($"collections in {(lastMs - firstMs) / 1000:F1} s, threads paused {pausedMs:F0} ms in all:");
foreach (var (kind, count) in collections.OrderByDescending(c => c.Value))
    Console.WriteLine($"  {count,5}  {kind}");
Console.WriteLine("each collection (promoted out of gen0 / gen1 / gen2; a pause counts with the collection that started last):");
foreach (var c in each)
{
    var promoted = c.Promoted is { } p ? $"{p[0] / 1e6,6:F1} / {p[1] / 1e6,6:F1} / {p[2] / 1e6,6:F1} MB" : "–";
    Console.WriteLine($"  #{c.Number,-6} at {c.AtMs / 1000,5:F1} s  gen{c.Generation} {c.Kind,-18} promoted {promoted}  paused {c.PausedMs,6:F1} ms");
}
return 0;

static string Caller(TraceCallStack? stack)
{
    string? first = null;
    for (var frame = stack; frame is not null; frame = frame.Caller)
    {
        var name = frame.CodeAddress.FullMethodName;
        if (string.IsNullOrEmpty(name))
            continue;
        first ??= name;
        if (name.StartsWith("AgentStack.", StringComparison.Ordinal)
            && !name.StartsWith("AgentStack.EventStore.", StringComparison.Ordinal)
            && !name.StartsWith("AgentStack.Erasure.Sealing.SealingEventStore", StringComparison.Ordinal))
            return Short(name);
    }
    return Short(first ?? "?");
}

static string Short(string method) => method.Length <= 140 ? method : method[..140];

static void Add(Dictionary<string, long> totals, string key, long bytes) =>
    totals[key] = totals.GetValueOrDefault(key) + bytes;

void Print(string title, Dictionary<string, long> totals, long? of = null)
{
    Console.WriteLine($"{title}:");
    foreach (var (key, bytes) in totals.OrderByDescending(t => t.Value).Take(rows))
        Console.WriteLine($"  {100.0 * bytes / Math.Max(of ?? total, 1),6:F2}%  {key}");
}

/// <summary>One collection: its number, generation and kind, when it started, what it promoted, the time it held threads.</summary>
sealed class Collection(int number, int generation, string kind, double atMs)
{
    public int Number { get; } = number;
    public int Generation { get; } = generation;
    public string Kind { get; } = kind;
    public double AtMs { get; } = atMs;
    public long[]? Promoted { get; set; }
    public double PausedMs { get; set; }
}
