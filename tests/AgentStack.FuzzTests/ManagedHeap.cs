using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace AgentStack.FuzzTests;

/// <summary>
/// What a .NET process's heap holds after a full, blocking collection: the objects still reachable, which is where a
/// leak of requests would stay. The process's resident size cannot tell that apart from what it keeps on purpose and
/// gives back lazily (the collector's free space, chDB's and SQLite's caches), and those differ from machine to machine.
/// </summary>
public static class ManagedHeap
{
    // The runtime's provider; GCHeapCollect makes the runtime run a full blocking collection as the session starts
    // (what dotnet-gcdump relies on), and GC reports that collection's heap, generation by generation.
    private const string RuntimeProvider = "Microsoft-Windows-DotNETRuntime";
    private const long GcKeyword = 0x1, GcHeapCollectKeyword = 0x800000;

    /// <summary>The bytes of every generation (large and pinned objects included) after a collection the session induces.</summary>
    public static async Task<long> LiveBytesAsync(int processId, TimeSpan timeout)
    {
        var client = new DiagnosticsClient(processId);
        using var session = await client.StartEventPipeSessionAsync(
            [new EventPipeProvider(RuntimeProvider, EventLevel.Informational, GcKeyword | GcHeapCollectKeyword)],
            requestRundown: false, token: CancellationToken.None);
        var induced = -1;
        var live = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var source = new EventPipeEventSource(session.EventStream);
        source.Clr.GCStart += start =>
        {
            if (start.Reason == GCReason.Induced && start.Depth == 2 && induced < 0)
                induced = start.Count;
        };
        source.Clr.GCHeapStats += stats =>
        {
            if (induced >= 0)
                live.TrySetResult(stats.GenerationSize0 + stats.GenerationSize1 + stats.GenerationSize2
                    + stats.GenerationSize3 + stats.GenerationSize4);
        };
        var reading = Task.Run(source.Process);
        var done = await Task.WhenAny(live.Task, Task.Delay(timeout));
        await session.StopAsync(CancellationToken.None);
        await reading;
        return done == live.Task
            ? await live.Task
            : throw new TimeoutException($"process {processId} reported no induced full collection within {timeout.TotalSeconds:0} s");
    }
}
