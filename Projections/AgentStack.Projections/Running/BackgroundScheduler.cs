using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace AgentStack.Projections.Running;

/// <summary>
/// Runs the projection runners on a few threads of their own, each with a lower CPU priority (a Linux nice value that
/// many steps above the process's), so that when the cores are full, ingestion comes first and the projections take what is left
/// (docs/projections.md, "Ingestion first"). An idle core still runs them at full speed: nice weighs the shares
/// of a contended CPU, it does not cap anyone. A runner's awaits come back here (its code never uses
/// <c>ConfigureAwait(false)</c>), so all of its own work runs at the lower priority; what it hands to others (the
/// event store's group commit, chDB's own threads) keeps theirs.
/// </summary>
public sealed partial class BackgroundScheduler : TaskScheduler, IDisposable
{
    private readonly BlockingCollection<Task> queue = [];
    private readonly Thread[] threads;

    /// <param name="threads">How many threads; runners that block (a synchronous read, a native insert) hold one.</param>
    /// <param name="nice">How many nice steps below the process's priority the threads run, 1 to 19 (nice tops out at 19).</param>
    public BackgroundScheduler(int threads, int nice)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(nice, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(nice, 19);
        Nice = nice;
        this.threads = new Thread[threads];
        for (var i = 0; i < threads; i++)
        {
            this.threads[i] = new Thread(Work) { IsBackground = true, Name = $"projections-{i}" };
            this.threads[i].Start();
        }
    }

    public int Nice { get; }

    public override int MaximumConcurrencyLevel => threads.Length;

    /// <summary>The calling thread's nice value on Linux (from /proc), null elsewhere.</summary>
    public static int? CurrentThreadNice()
    {
        if (!OperatingSystem.IsLinux())
            return null;
        // Fields after the command name, which is in parentheses and may hold spaces: nice is the 19th field.
        var stat = File.ReadAllText("/proc/thread-self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return int.Parse(fields[19 - 3], System.Globalization.CultureInfo.InvariantCulture);
    }

    private void Work()
    {
        // setpriority(PRIO_PROCESS, tid) sets one thread's nice on Linux; lowering one's own priority needs no privilege.
        // Elsewhere the threads keep the process's priority and only the separation remains.
        // A new thread starts with its creator's nice value, the process's unless someone changed that thread's.
        if (OperatingSystem.IsLinux() && CurrentThreadNice() is { } inherited
            && Native.SetPriority(0, Native.GetTid(), Math.Min(19, inherited + Nice)) != 0)
            Console.Error.WriteLine($"AgentStack: could not lower the projection threads' priority (errno {Marshal.GetLastPInvokeError()}); they run at the process's.");
        foreach (var task in queue.GetConsumingEnumerable())
            TryExecuteTask(task);
    }

    protected override void QueueTask(Task task)
    {
        try
        {
            queue.Add(task);
        }
        catch (InvalidOperationException)
        {
            // Disposed while the host stops: what a runner still has to do (its last awaits) finishes on the pool.
            ThreadPool.UnsafeQueueUserWorkItem(_ => TryExecuteTask(task), null);
        }
    }

    /// <summary>Inline only on one of these threads, so nothing of a runner ever runs at the caller's priority.</summary>
    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) =>
        Array.IndexOf(threads, Thread.CurrentThread) >= 0 && TryExecuteTask(task);

    protected override IEnumerable<Task> GetScheduledTasks() => queue.ToArray();

    /// <summary>Runs <paramref name="work"/> here: its awaits come back to these threads.</summary>
    public Task Run(Func<Task> work, CancellationToken cancellationToken) =>
        Task.Factory.StartNew(work, cancellationToken, TaskCreationOptions.DenyChildAttach, this).Unwrap();

    public void Dispose() => queue.CompleteAdding();

    private static partial class Native
    {
        [LibraryImport("libc", EntryPoint = "setpriority", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static partial int SetPriority(int which, int who, int priority);

        [LibraryImport("libc", EntryPoint = "gettid")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static partial int GetTid();
    }
}
