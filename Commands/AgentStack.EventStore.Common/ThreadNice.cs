using System.Globalization;
using System.Runtime.InteropServices;

namespace AgentStack.EventStore.Common;

/// <summary>
/// The Linux nice value of the calling thread (<c>setpriority</c> on its thread id): the event store's writer runs
/// above the process's priority, the background projection runners below it (docs/event-store.md, "The writer first";
/// docs/projections.md, "Ingestion first"). Lowering a thread's priority needs no privilege; raising it above the
/// process's needs <c>CAP_SYS_NICE</c> or a <c>RLIMIT_NICE</c> that allows it. Elsewhere than Linux, threads keep the
/// process's priority.
/// </summary>
public static partial class ThreadNice
{
    /// <summary>The calling thread's nice value on Linux (from /proc), null elsewhere.</summary>
    public static int? Current() => Read("/proc/thread-self/stat");

    /// <summary>The process's nice value on Linux (its main thread's, from /proc), null elsewhere.</summary>
    public static int? Process() => Read("/proc/self/stat");

    /// <summary>
    /// Sets the calling thread <paramref name="steps"/> nice values from the process's (positive: a lower priority,
    /// negative: a higher one), within Linux's -20 to 19, whichever thread created it. Returns the errno of a refusal
    /// (EACCES without the privilege a raise needs), 0 when done or where there are no nice values.
    /// </summary>
    public static int TrySetFromProcess(int steps) => FromProcess(steps) is { } nice ? TrySet(Native.GetTid(), nice) : 0;

    /// <summary>
    /// <see cref="TrySetFromProcess"/>, and where it is refused, one line on standard error naming the thread and what a
    /// raise needs; the thread then keeps the priority it started with.
    /// </summary>
    public static void SetFromProcess(int steps)
    {
        if (TrySetFromProcess(steps) is not 0 and var errno)
            Console.Error.WriteLine($"AgentStack: could not move thread {Thread.CurrentThread.Name}'s priority {steps} nice steps from the " +
                $"process's (errno {errno}; a raise needs CAP_SYS_NICE or a RLIMIT_NICE that allows it); it keeps its own.");
    }

    /// <summary>
    /// The ids of this process's threads named <paramref name="name"/> (their <c>comm</c>, at most 15 bytes), with each
    /// one's nice value, on Linux; none elsewhere. For threads that native code starts (chDB's), which no .NET code runs on.
    /// </summary>
    public static IReadOnlyList<(int Tid, int Nice)> ThreadsNamed(string name)
    {
        if (!OperatingSystem.IsLinux())
            return [];
        var found = new List<(int, int)>();
        foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            try
            {
                if (File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n') == name
                    && Read(Path.Combine(task, "stat")) is { } nice)
                    found.Add((int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture), nice));
            }
            catch (IOException)
            {
                // The thread ended meanwhile.
            }
        }
        return found;
    }

    /// <summary>
    /// The nice value <paramref name="steps"/> from the process's, within Linux's -20 to 19; null where there are no
    /// nice values.
    /// </summary>
    public static int? FromProcess(int steps) => Process() is { } process ? Math.Clamp(process + steps, -20, 19) : null;

    /// <summary>
    /// Sets thread <paramref name="tid"/> of this process to nice value <paramref name="nice"/> (from
    /// <see cref="FromProcess"/>). Returns the errno of a refusal, 0 when done.
    /// </summary>
    public static int TrySet(int tid, int nice) => Native.SetPriority(0, tid, nice) == 0 ? 0 : Marshal.GetLastPInvokeError();

    private static int? Read(string path)
    {
        if (!OperatingSystem.IsLinux())
            return null;
        // Fields after the command name, which is in parentheses and may hold spaces: nice is the 19th field.
        var stat = File.ReadAllText(path);
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return int.Parse(fields[19 - 3], CultureInfo.InvariantCulture);
    }

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
