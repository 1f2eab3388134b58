using AgentStack.EventStore.Common;

namespace AgentStack.Projections.Analytics.ChDb;

/// <summary>
/// Keeps chDB's merge threads (<c>MergeMutate</c>) <see cref="ChDbOptions.MergeNice"/> nice steps below the process's
/// priority. ClickHouse merges the parts each insert makes in the background, in bursts that took half a core for two
/// or three seconds every eight or so at the embedded server's peak, at the priority of the requests: at 80% of the
/// peak, where the cores are nearly full, each burst left requests waiting behind it (BENCHMARKS.md, "Merges below
/// ingestion"). Merges wait for nothing, and below the requests they take the CPU the requests leave. ClickHouse's own
/// <c>os_threads_nice_value_merge_mutate</c>, passed to chDB as its other options are, left them at the process's
/// priority (chDB 26.7, with CAP_SYS_NICE); lowering a thread's priority needs no privilege. The threads are native,
/// started by the engine, so they are found by name, at once and then every <see cref="Interval"/>, which also finds
/// the ones the engine starts later.
/// </summary>
internal sealed class ChDbMergePriority : IDisposable
{
    public const string ThreadName = "MergeMutate";

    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    private readonly int steps;
    private readonly Timer timer;
    private int refusalReported;

    public ChDbMergePriority(int steps)
    {
        this.steps = steps;
        timer = new Timer(_ => Apply(), null, TimeSpan.Zero, Interval);
    }

    // On a timer thread: whatever goes wrong is said once and the merges keep their priority; the process goes on.
    private void Apply()
    {
        try
        {
            if (ThreadNice.FromProcess(steps) is not { } target)
                return;
            foreach (var (tid, nice) in ThreadNice.ThreadsNamed(ThreadName))
            {
                if (nice != target && ThreadNice.TrySet(tid, target) is not 0 and var errno)
                    Refused($"errno {errno}");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            Refused(e.Message);
        }
    }

    private void Refused(string why)
    {
        if (Interlocked.Exchange(ref refusalReported, 1) == 0)
            Console.Error.WriteLine($"AgentStack: could not move chDB's merge threads {steps} nice steps from the process's " +
                $"({why}); they keep their own.");
    }

    public void Dispose() => timer.Dispose();
}
