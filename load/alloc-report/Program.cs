using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

// alloc-report <trace.nettrace> [rows=15]: the runtime's allocation samples (GC AllocationTick, one per ~100 KB
// allocated) of a dotnet-trace gc-verbose trace, summed by type and by the first frame of AgentStack's own code that
// is not the event store (so the bytes a store read allocates count against whoever asked for the read).
if (args.Length is < 1 or > 2 || !File.Exists(args[0]))
{
    Console.Error.WriteLine("usage: alloc-report <trace.nettrace> [rows]");
    return 2;
}
var rows = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 15;
using var log = new TraceLog(TraceLog.CreateFromEventPipeDataFile(args[0]));
var byType = new Dictionary<string, long>(StringComparer.Ordinal);
var byCaller = new Dictionary<string, long>(StringComparer.Ordinal);
long total = 0;
foreach (var e in log.Events)
{
    if (e is not GCAllocationTickTraceData tick)
        continue;
    total += tick.AllocationAmount64;
    Add(byType, tick.TypeName ?? "?", tick.AllocationAmount64);
    Add(byCaller, Caller(e.CallStack()), tick.AllocationAmount64);
}
Console.WriteLine($"allocated (sampled): {total / 1e6:F0} MB");
Print("by type", byType);
Print("by caller (first AgentStack frame outside the event store)", byCaller);
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

void Print(string title, Dictionary<string, long> totals)
{
    Console.WriteLine($"{title}:");
    foreach (var (key, bytes) in totals.OrderByDescending(t => t.Value).Take(rows))
        Console.WriteLine($"  {100.0 * bytes / Math.Max(total, 1),6:F2}%  {key}");
}
