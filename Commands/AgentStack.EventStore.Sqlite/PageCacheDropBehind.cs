using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;

namespace AgentStack.EventStore.Sqlite;

/// <summary>
/// Hands the kernel back the page-cache pages of <c>events.db</c> that lie more than
/// <see cref="SqliteEventStoreOptions.CachedTail"/> before the file's end, after every checkpoint
/// (<c>posix_fadvise(POSIX_FADV_DONTNEED)</c>; the checkpoint's fsync has made the pages it wrote clean). The log only
/// grows, and a page the cache takes from free memory is the dearest write the checkpointer makes: on a virtual machine
/// that reports free memory to its host, its first write faults in the host, and the checkpointer spent four fifths of
/// its time copying into such pages while pages it overwrote cost a tenth as much (docs/event-store.md, "The page cache
/// behind the log"). Pages handed back are taken again by the next writes, before the host has them back. The whole
/// range is dropped each time, pages read back since included: a projection catching up reads the log behind the tail,
/// and with only the newly passed range dropped, the pages it read stayed, each taken from free memory, and the peak
/// came out lower (BENCHMARKS.md, "Twenty-third sitting").
/// </summary>
/// <remarks>
/// The descriptor is the one SQLite itself reads and writes the file through, on the checkpointer's connection: a
/// descriptor of our own would, when closed, release the POSIX locks every SQLite connection of this process holds on
/// the file. Linux on 64 bits only; elsewhere, or when the descriptor cannot be found, nothing is dropped.
/// </remarks>
internal sealed partial class PageCacheDropBehind(string path, long cachedTail)
{
    /// <summary>The range dropped ends on a whole mebibyte.</summary>
    private const long Granule = 1L << 20;

    private const int PosixFadvDontNeed = 4;

    private const int SqliteFcntlFilePointer = 7;

    /// <summary>
    /// Where <c>h</c>, the descriptor, lies in SQLite's <c>unixFile</c>: after three pointers (<c>pMethod</c>,
    /// <c>pVfs</c>, <c>pInode</c>). The descriptor read there is used only if it opens <see cref="path"/>.
    /// </summary>
    private const int UnixFileDescriptorOffset = 3 * 8;

    private long droppedTo;
    private bool unavailable;
    private string? realPath;

    /// <summary>Where the range last handed back ended, from the file's start: a diagnostic.</summary>
    public long DroppedTo => Interlocked.Read(ref droppedTo);

    /// <summary>
    /// After a checkpoint on <paramref name="connection"/>: drops the file's pages up to
    /// <see cref="SqliteEventStoreOptions.CachedTail"/> before its end.
    /// </summary>
    public void AfterCheckpoint(SqliteConnection connection)
    {
        long length;
        try
        {
            length = new FileInfo(path).Length;
        }
        catch (IOException)
        {
            // The file's name is gone (its directory deleted under a running store): nothing to drop by it.
            return;
        }
        var end = (length - cachedTail) & ~(Granule - 1);
        if (end <= 0 || DescriptorOf(connection) is not { } descriptor)
            return;
        // posix_fadvise answers an error number rather than setting errno; after one the next checkpoint tries again.
        if (Native.Fadvise(descriptor, 0, end, PosixFadvDontNeed) == 0)
            Interlocked.Exchange(ref droppedTo, end);
    }

    /// <summary>The descriptor SQLite holds <paramref name="connection"/>'s main database open with, checked against <see cref="path"/>.</summary>
    private int? DescriptorOf(SqliteConnection connection)
    {
        if (unavailable || !OperatingSystem.IsLinux() || !Environment.Is64BitProcess || connection.Handle is not { } handle)
            return null;
        try
        {
            // "main"u8 is followed by a zero byte in memory: a C string.
            if (Native.FileControl(handle.DangerousGetHandle(), "main"u8, SqliteFcntlFilePointer, out var file) != 0 || file == 0)
                return null;
            var descriptor = Marshal.ReadInt32(file, UnixFileDescriptorOffset);
            // /proc names the file by its path with every link resolved.
            realPath ??= RealPath(path);
            return realPath is not null && new FileInfo($"/proc/self/fd/{descriptor}").LinkTarget == realPath ? descriptor : null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            unavailable = true;
            return null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static string? RealPath(string path)
    {
        var resolved = Native.RealPath(path, 0);
        if (resolved == 0)
            return null;
        try
        {
            return Marshal.PtrToStringUTF8(resolved);
        }
        finally
        {
            Native.Free(resolved);
        }
    }

    private static partial class Native
    {
        [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static partial nint RealPath(string path, nint resolved);

        [LibraryImport("libc", EntryPoint = "free")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static partial void Free(nint pointer);

        [LibraryImport("libc", EntryPoint = "posix_fadvise")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static partial int Fadvise(int descriptor, long offset, long length, int advice);

        // The library Microsoft.Data.Sqlite's provider (SQLitePCLRaw.provider.e_sqlite3) has loaded.
        [LibraryImport("e_sqlite3", EntryPoint = "sqlite3_file_control")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static partial int FileControl(nint database, ReadOnlySpan<byte> name, int operation, out nint file);
    }
}
