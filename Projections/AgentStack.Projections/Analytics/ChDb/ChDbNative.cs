using System.Runtime.InteropServices;

namespace AgentStack.Projections.Analytics.ChDb;

/// <summary>
/// The C entry points of libchdb (chdb.h, chDB 26.7), bound as unmanaged function pointers from
/// <see cref="NativeLibrary.Load(string)"/> because the library's path is only known at run time
/// (configuration or a walk up to <c>.deps/chdb</c>), which <c>[LibraryImport]</c> cannot express.
/// One instance per process: the engine inside the library is process-wide anyway.
/// </summary>
internal sealed unsafe partial class ChDbNative
{
    private static readonly Lock LoadLock = new();
    private static ChDbNative? _loaded;

    private readonly delegate* unmanaged<int, byte**, nint> _connect;
    private readonly delegate* unmanaged<nint, void> _closeConn;
    private readonly delegate* unmanaged<nint, byte*, nuint, byte*, nuint, nint> _queryN;
    private readonly delegate* unmanaged<nint, byte*, nuint, byte*, nuint, byte**, nuint*, byte**, nuint*, nuint, nint> _queryWithParamsN;
    private readonly delegate* unmanaged<nint, void> _destroyResult;
    private readonly delegate* unmanaged<nint, byte*> _resultBuffer;
    private readonly delegate* unmanaged<nint, nuint> _resultLength;
    private readonly delegate* unmanaged<nint, byte*> _resultError;
    private readonly delegate* unmanaged<nint, ulong> _resultRowsWritten;
    private readonly delegate* unmanaged<int, void> _setSignalHandlersEnabled;

    private ChDbNative(string path, nint library)
    {
        Path = path;
        _connect = (delegate* unmanaged<int, byte**, nint>)Export(library, "chdb_connect");
        _closeConn = (delegate* unmanaged<nint, void>)Export(library, "chdb_close_conn");
        _queryN = (delegate* unmanaged<nint, byte*, nuint, byte*, nuint, nint>)Export(library, "chdb_query_n");
        _queryWithParamsN = (delegate* unmanaged<nint, byte*, nuint, byte*, nuint, byte**, nuint*, byte**, nuint*, nuint, nint>)
            Export(library, "chdb_query_with_params_n");
        _destroyResult = (delegate* unmanaged<nint, void>)Export(library, "chdb_destroy_query_result");
        _resultBuffer = (delegate* unmanaged<nint, byte*>)Export(library, "chdb_result_buffer");
        _resultLength = (delegate* unmanaged<nint, nuint>)Export(library, "chdb_result_length");
        _resultError = (delegate* unmanaged<nint, byte*>)Export(library, "chdb_result_error");
        _resultRowsWritten = (delegate* unmanaged<nint, ulong>)Export(library, "chdb_result_rows_written");
        _setSignalHandlersEnabled = (delegate* unmanaged<int, void>)Export(library, "chdb_set_signal_handlers_enabled");
    }

    public string Path { get; }

    /// <summary>Loads the library once per process; a second, different path is refused rather than silently ignored.</summary>
    public static ChDbNative Load(string path)
    {
        var fullPath = System.IO.Path.GetFullPath(path);
        lock (LoadLock)
        {
            if (_loaded is not null)
            {
                return _loaded.Path == fullPath
                    ? _loaded
                    : throw new AnalyticsException(
                        $"libchdb is already loaded from '{_loaded.Path}' in this process; cannot also load '{fullPath}'.");
            }

            nint library;
            try
            {
                library = NativeLibrary.Load(fullPath);
            }
            catch (DllNotFoundException e)
            {
                throw new AnalyticsException($"Could not load libchdb from '{fullPath}': {e.Message}", inner: e);
            }

            _loaded = new ChDbNative(fullPath, library);
            return _loaded;
        }
    }

    /// <summary>
    /// Connects with the signal fix (docs/environment.md): chDB installs its own handlers for
    /// SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGTSTP, SIGSYS and SIGRTMIN at connect.
    /// The .NET runtime needs SIGSEGV to turn a null dereference into a NullReferenceException and
    /// SIGRTMIN to suspend threads for GC, so we disable chDB's handlers and put back whatever was
    /// installed before the call. Returns the <c>chdb_connection*</c> (NULL on failure).
    /// </summary>
    public nint Connect(IReadOnlyList<string> args)
    {
        var saved = stackalloc byte[Signals.SavedCount * Signals.SigactionBufferSize];
        for (var signal = 1; signal <= Signals.SavedCount; signal++)
        {
            // EINVAL for signals that cannot be queried (none on Linux 1-64, but harmless): the
            // buffer then stays zeroed and is never restored, because only ChDbSignals are restored.
            _ = Signals.SigAction(signal, null, saved + ((signal - 1) * Signals.SigactionBufferSize));
        }

        _setSignalHandlersEnabled(0);

        var argv = new nint[args.Count + 1];
        try
        {
            // argv[0] is the program name, as chDB parses the array like main()'s.
            argv[0] = Marshal.StringToCoTaskMemUTF8("chdb");
            for (var i = 0; i < args.Count; i++)
            {
                argv[i + 1] = Marshal.StringToCoTaskMemUTF8(args[i]);
            }

            fixed (nint* argvPtr = argv)
            {
                return _connect(argv.Length, (byte**)argvPtr);
            }
        }
        finally
        {
            foreach (var arg in argv)
            {
                Marshal.FreeCoTaskMem(arg);
            }

            foreach (var signal in Signals.ChDbSignals)
            {
                _ = Signals.SigAction(signal, saved + ((signal - 1) * Signals.SigactionBufferSize), null);
            }
        }
    }

    public void Close(nint connectionPointer) => _closeConn(connectionPointer);

    public nint Query(nint connection, ReadOnlySpan<byte> sql, ReadOnlySpan<byte> format)
    {
        fixed (byte* sqlPtr = sql)
        fixed (byte* formatPtr = format)
        {
            return _queryN(connection, sqlPtr, (nuint)sql.Length, formatPtr, (nuint)format.Length);
        }
    }

    /// <summary>Runs <paramref name="sql"/> with server-side <c>{name:Type}</c> binding; values travel as text, never spliced into SQL.</summary>
    public nint QueryWithParameters(
        nint connection, ReadOnlySpan<byte> sql, ReadOnlySpan<byte> format, IReadOnlyList<(byte[] Name, byte[] Value)> parameters)
    {
        var count = parameters.Count;
        var handles = new GCHandle[count * 2];
        var names = new nint[count];
        var values = new nint[count];
        var nameLengths = new nuint[count];
        var valueLengths = new nuint[count];
        try
        {
            for (var i = 0; i < count; i++)
            {
                handles[i * 2] = GCHandle.Alloc(parameters[i].Name, GCHandleType.Pinned);
                handles[(i * 2) + 1] = GCHandle.Alloc(parameters[i].Value, GCHandleType.Pinned);
                names[i] = handles[i * 2].AddrOfPinnedObject();
                values[i] = handles[(i * 2) + 1].AddrOfPinnedObject();
                nameLengths[i] = (nuint)parameters[i].Name.Length;
                valueLengths[i] = (nuint)parameters[i].Value.Length;
            }

            fixed (byte* sqlPtr = sql)
            fixed (byte* formatPtr = format)
            fixed (nint* namesPtr = names)
            fixed (nint* valuesPtr = values)
            fixed (nuint* nameLengthsPtr = nameLengths)
            fixed (nuint* valueLengthsPtr = valueLengths)
            {
                return _queryWithParamsN(
                    connection, sqlPtr, (nuint)sql.Length, formatPtr, (nuint)format.Length,
                    (byte**)namesPtr, nameLengthsPtr, (byte**)valuesPtr, valueLengthsPtr, (nuint)count);
            }
        }
        finally
        {
            foreach (var handle in handles)
            {
                if (handle.IsAllocated)
                {
                    handle.Free();
                }
            }
        }
    }

    /// <summary>The engine's error text, or null when the statement succeeded.</summary>
    public string? ResultError(nint result)
    {
        var error = _resultError(result);
        return error is null ? null : Marshal.PtrToStringUTF8((nint)error);
    }

    public ReadOnlySpan<byte> ResultBuffer(nint result)
    {
        var buffer = _resultBuffer(result);
        var length = _resultLength(result);
        return buffer is null || length == 0 ? [] : new ReadOnlySpan<byte>(buffer, checked((int)length));
    }

    public ulong ResultRowsWritten(nint result) => _resultRowsWritten(result);

    public void DestroyResult(nint result) => _destroyResult(result);

    private static void* Export(nint library, string name) =>
        NativeLibrary.TryGetExport(library, name, out var address)
            ? (void*)address
            : throw new AnalyticsException($"libchdb does not export '{name}'; expected chDB 26.7 (scripts/setup-chdb.sh).");

    private static partial class Signals
    {
        /// <summary>glibc's struct sigaction is 152 bytes on x86-64; 256 leaves room on every ABI we might meet.</summary>
        public const int SigactionBufferSize = 256;

        public const int SavedCount = 64;

        /// <summary>SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGTSTP, SIGSYS, SIGRTMIN: what chDB replaces at connect.</summary>
        public static readonly int[] ChDbSignals = [4, 5, 6, 7, 8, 11, 20, 31, 34];

// "libc" resolves to the process's C library; sigaction(2) with a NULL act only reads.
        [LibraryImport("libc", EntryPoint = "sigaction", SetLastError = true)]
        // The system's C library only, never a file beside the application (CA5392).
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static partial int SigAction(int signum, void* act, void* oldact);
    }
}
