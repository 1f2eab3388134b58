using System.Runtime.InteropServices;

namespace AgentStack.Projections.Analytics.ChDb;

/// <summary>
/// Keeps chDB off the process's standard input. chDB runs ClickHouse's client code, whose <c>INSERT</c> looks for data on
/// standard input (file descriptor 0) when it is not a terminal: an insert in a process whose standard input is a pipe
/// holding data blocks forever in <c>read(0)</c> waiting for the end of it, and so does every statement behind it on the
/// connection. It happened in a test host (the writer lane of the analytics store stuck in <c>INSERT … FROM INFILE</c>, its
/// thread in <c>anon_pipe_read</c>), and would in any server started with a pipe for standard input (a supervisor's
/// default, <c>docker run -i</c>). AgentStack never reads standard input, so before the engine boots it is pointed at
/// <c>/dev/null</c>, where an insert finds no data at once (docs/projections.md, "Standard input").
/// </summary>
internal static partial class ChDbStandardInput
{
    private const int StandardInput = 0;
    private const string Null = "/dev/null";

    /// <summary>
    /// Points file descriptor 0 at <c>/dev/null</c> unless it is already there or closed; returns what it was (a path,
    /// <c>pipe:[…]</c>, <c>socket:[…]</c>), or null when nothing changed.
    /// </summary>
    public static string? Detach()
    {
        string? target;
        try
        {
            target = new FileInfo($"/proc/self/fd/{StandardInput}").LinkTarget;
        }
        catch (IOException)
        {
            return null; // no /proc, or descriptor 0 closed: nothing for an insert to wait on
        }

        if (target is null or Null)
            return null;

        var devNull = Native.Open(Null, OpenReadOnly | OpenCloseOnExec);
        if (devNull < 0)
            throw new AnalyticsException($"Could not open {Null} to keep chDB off standard input ({target}): errno {Marshal.GetLastPInvokeError()}.");
        try
        {
            if (Native.Dup2(devNull, StandardInput) < 0)
                throw new AnalyticsException($"Could not point standard input ({target}) at {Null} for chDB: errno {Marshal.GetLastPInvokeError()}.");
        }
        finally
        {
            _ = Native.Close(devNull);
        }

        return target;
    }

    private const int OpenReadOnly = 0;

    /// <summary>O_CLOEXEC on Linux: the temporary descriptor is not inherited (dup2's copy on 0 is, as standard input should be).</summary>
    private const int OpenCloseOnExec = 0x80000;

    private static partial class Native
    {
        [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static partial int Open(string path, int flags);

        [LibraryImport("libc", EntryPoint = "dup2", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static partial int Dup2(int from, int to);

        [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static partial int Close(int descriptor);
    }
}
