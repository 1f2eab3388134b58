using System.Runtime.InteropServices;

namespace AgentStack.EventStore.Tests.Sqlite;

/// <summary>
/// Which share of a file's range the page cache holds, as <c>mincore</c> reports it for a mapping of the file (the
/// mapping reads nothing in). Linux only. Open it only once no SQLite connection of this process has the file open:
/// closing a descriptor of the file releases the POSIX locks every connection of the process holds on it.
/// </summary>
internal static partial class PageCache
{
    private const int ProtRead = 1, MapShared = 1;

    public static double ResidentShare(string path, long length)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var pageSize = Environment.SystemPageSize;
        var pages = (int)((length + pageSize - 1) / pageSize);
        var address = Native.Map(0, (nuint)length, ProtRead, MapShared, (int)file.DangerousGetHandle(), 0);
        if (address == -1)
            throw new IOException($"mmap of {path} failed: errno {Marshal.GetLastPInvokeError()}");
        try
        {
            var resident = new byte[pages];
            if (Native.Resident(address, (nuint)length, resident) != 0)
                throw new IOException($"mincore of {path} failed: errno {Marshal.GetLastPInvokeError()}");
            return resident.Count(flags => (flags & 1) == 1) / (double)pages;
        }
        finally
        {
            _ = Native.Unmap(address, (nuint)length);
        }
    }

    private static partial class Native
    {
        [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static partial nint Map(nint address, nuint length, int protection, int flags, int descriptor, long offset);

        [LibraryImport("libc", EntryPoint = "munmap")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static partial int Unmap(nint address, nuint length);

        [LibraryImport("libc", EntryPoint = "mincore", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static partial int Resident(nint address, nuint length, [Out] byte[] resident);
    }
}
