using System.Text;
using System.Text.RegularExpressions;

namespace AgentStack.Projections.Analytics.ChDb;

/// <summary>
/// The analytics port on chDB, ClickHouse 26.7 running inside this process. Writes (DDL, inserts) go
/// through one writer connection and queries through <see cref="ChDbOptions.ReaderConnections"/>
/// reader connections, all to the same engine, so a slow dashboard query never delays a projection's
/// insert. Each connection has its own thread (<see cref="ChDbLane"/>).
/// </summary>
public sealed partial class ChDbAnalyticsStore : IAnalyticsStore, IDisposable
{
    private static readonly byte[] NullFormat = "Null"u8.ToArray();
    private static readonly byte[] InsertFormat = "TabSeparated"u8.ToArray();

    private readonly ChDbNative _native;
    private readonly List<nint> _connections = [];
    // The current database of each connection (keyed by chdb_connection), touched only by the lane
    // thread that owns the connection; see RunAsync.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<nint, string> _databases = new();
    private readonly ChDbLane _writer;
    private readonly string _insertsPath;
    private readonly ChDbLane _readers;
    private readonly ChDbMergePriority? _mergePriority;
    private int _disposed;

    public ChDbAnalyticsStore(ChDbOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.DataPath))
        {
            throw new ArgumentException("ChDbOptions.DataPath (AgentStack:ChDb:DataPath) is required.", nameof(options));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(options.ReaderConnections, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxThreads, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(options.MergeNice, nameof(options));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.MergeNice, 39, nameof(options));

        _native = ChDbNative.Load(ChDbLibrary.Resolve(options.LibraryPath));
        DataPath = Path.GetFullPath(options.DataPath);
        var inserts = Path.Combine(DataPath, "agentstack_inserts");
        // Each store writes its insert files into a folder of its own, named by its process, so another store open on
        // the same path keeps its files. Folders of processes that are gone hold inserts a crash interrupted: their
        // rows either landed or were never acknowledged.
        if (Directory.Exists(inserts))
        {
            foreach (var file in Directory.EnumerateFiles(inserts))
            {
                File.Delete(file);
            }

            foreach (var folder in Directory.EnumerateDirectories(inserts).Where(f => !ProcessIsRunning(Path.GetFileName(f))))
            {
                Directory.Delete(folder, recursive: true);
            }
        }

        _insertsPath = Path.Combine(inserts, $"{Environment.ProcessId}-{Guid.NewGuid():N}");

        string[] arguments =
        [
            $"--max_server_memory_usage={options.MaxServerMemoryBytes}",
            $"--max_memory_usage={options.MaxMemoryUsageBytes}",
            $"--mark_cache_size={options.MarkCacheSizeBytes}",
            $"--max_threads={options.MaxThreads}",
            .. options.AdditionalArguments,
        ];

        try
        {
            for (var i = 0; i < 1 + options.ReaderConnections; i++)
            {
                _connections.Add(ChDbEngine.Connect(_native, DataPath, arguments));
            }
        }
        catch
        {
            CloseConnections();
            throw;
        }

        _writer = new ChDbLane("writer", _connections[..1]);
        _readers = new ChDbLane("reader", _connections[1..]);
        _mergePriority = options.MergeNice == 0 ? null : new ChDbMergePriority(options.MergeNice);
    }

    /// <summary>The engine's data directory, as an absolute path.</summary>
    public string DataPath { get; }

    public Task ExecuteAsync(string sql, IReadOnlyDictionary<string, object?>? parameters, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sql);
        var statement = Statement.Create(sql, parameters, NullFormat);
        return _writer.RunAsync(connection => Run(connection, statement), cancellationToken);
    }

    public Task<byte[]> QueryAsync(
        string sql, IReadOnlyDictionary<string, object?>? parameters, string format, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sql);
        ArgumentException.ThrowIfNullOrWhiteSpace(format);
        var statement = Statement.Create(sql, parameters, Encoding.UTF8.GetBytes(format));
        return _readers.RunAsync(connection => Run(connection, statement), cancellationToken);
    }

    public Task InsertJsonEachRowAsync(string table, ReadOnlyMemory<byte> rows, CancellationToken cancellationToken) =>
        InsertAsync(table, "JSONEachRow", rows, cancellationToken);

    /// <summary>
    /// Binary rows go through a file (<c>INSERT … FROM INFILE</c>), not inline after the statement: chDB
    /// takes an empty line (two newline bytes) in inline data as its end, which JSON lines never hold but
    /// binary rows may (a position of 2,570 is 0x0A0A). The file lives in the engine's folder while the
    /// insert runs and is deleted after it.
    /// </summary>
    private static bool ProcessIsRunning(string folder)
    {
        var dash = folder.IndexOf('-', StringComparison.Ordinal);
        if (dash <= 0 || !int.TryParse(folder.AsSpan(0, dash), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var pid))
        {
            return false;
        }

        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    public async Task InsertRowBinaryAsync(string table, ReadOnlyMemory<byte> rows, CancellationToken cancellationToken)
    {
        if (!TableName().IsMatch(table))
        {
            throw new ArgumentException($"'{table}' is not a [database.]table identifier.", nameof(table));
        }

        if (rows.IsEmpty)
        {
            return;
        }

        Directory.CreateDirectory(_insertsPath);
        var file = Path.Combine(_insertsPath, $"{Guid.NewGuid():N}.bin");
        try
        {
            await using (var stream = new FileStream(file, FileMode.CreateNew, FileAccess.Write, FileShare.Read, 1 << 16, useAsync: true))
            {
                await stream.WriteAsync(rows, cancellationToken);
            }

            var literal = file.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal);
            var statement = new Statement(Encoding.UTF8.GetBytes($"INSERT INTO {table} FROM INFILE '{literal}' FORMAT RowBinary"), NullFormat, null);
            await _writer.RunAsync(connection => Run(connection, statement), cancellationToken);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private Task InsertAsync(string table, string format, ReadOnlyMemory<byte> rows, CancellationToken cancellationToken)
    {
        // The table name is spliced into SQL (ClickHouse cannot bind an identifier in INSERT INTO), so
        // only a plain [database.]table identifier is accepted.
        if (!TableName().IsMatch(table))
        {
            throw new ArgumentException($"'{table}' is not a [database.]table identifier.", nameof(table));
        }

        if (rows.IsEmpty)
        {
            return Task.CompletedTask;
        }

        // One statement carries the data (its length is passed, so binary rows may hold any byte): chDB
        // parses it with the format's reader and the insert becomes one part, all or nothing.
        var header = Encoding.UTF8.GetBytes($"INSERT INTO {table} FORMAT {format}\n");
        var sql = new byte[header.Length + rows.Length];
        header.CopyTo(sql, 0);
        rows.Span.CopyTo(sql.AsSpan(header.Length));
        var statement = new Statement(sql, InsertFormat, null);
        return _writer.RunAsync(connection => Run(connection, statement), cancellationToken);
    }

    /// <summary>
    /// Runs one statement as a ClickHouse server's HTTP interface does (issue 4: the chDB HTTP stand-in,
    /// tests/AgentStack.ChDbHttpServer). <paramref name="sql"/> is taken as is and may carry inline data
    /// after the query (<c>INSERT … FORMAT JSONEachRow</c> followed by rows); <paramref name="parameters"/>
    /// are already in ClickHouse's text form (the HTTP <c>param_*</c> values) and are bound server-side;
    /// <paramref name="database"/> is the default database for unqualified names (<c>default</c> when null).
    /// Writes run on the writer connection, reads on the readers, as for the port's own methods.
    /// </summary>
    public Task<byte[]> RunAsync(
        ReadOnlyMemory<byte> sql, string format, IReadOnlyList<KeyValuePair<string, string>>? parameters, string? database,
        bool write, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(format);
        if (database is not null && !ChDbParameters.Identifier().IsMatch(database))
        {
            throw new AnalyticsException($"Database name '{database}' is not an identifier.", code: 81);
        }

        List<(byte[] Name, byte[] Value)>? encoded = null;
        if (parameters is { Count: > 0 })
        {
            encoded = new(parameters.Count);
            foreach (var (name, value) in parameters)
            {
                if (!ChDbParameters.Identifier().IsMatch(name))
                {
                    throw new AnalyticsException($"Query parameter name '{name}' is not an identifier.", code: 36);
                }

                encoded.Add((Encoding.UTF8.GetBytes(name), Encoding.UTF8.GetBytes(value)));
            }
        }

        var statement = new Statement(sql.ToArray(), Encoding.UTF8.GetBytes(format), encoded, database);
        return (write ? _writer : _readers).RunAsync(connection => Run(connection, statement), cancellationToken);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // Queued statements finish first; then the connections close (the last one stops the engine).
        _mergePriority?.Dispose();
        _writer.Dispose();
        _readers.Dispose();
        CloseConnections();
    }

    private byte[] Run(nint connection, Statement statement)
    {
        UseDatabase(connection, statement.Database ?? "default");
        var result = statement.Parameters is null
            ? _native.Query(connection, statement.Sql, statement.Format)
            : _native.QueryWithParameters(connection, statement.Sql, statement.Format, statement.Parameters);
        if (result == 0)
        {
            throw new AnalyticsException("chDB returned no result; the connection is closed.");
        }

        try
        {
            var error = _native.ResultError(result);
            return error is null ? _native.ResultBuffer(result).ToArray() : throw ToException(error);
        }
        finally
        {
            _native.DestroyResult(result);
        }
    }

    /// <summary>
    /// A connection keeps its current database between statements (chDB connections are sessions), but
    /// each HTTP request to a ClickHouse server starts in its own. So a statement that names another
    /// database switches to it first, and the next one that does not switches back.
    /// </summary>
    private void UseDatabase(nint connection, string database)
    {
        if (_databases.TryGetValue(connection, out var current) ? current == database : database == "default")
        {
            return;
        }

        var use = Encoding.UTF8.GetBytes($"USE {database}");
        var result = _native.Query(connection, use, NullFormat);
        if (result == 0)
        {
            throw new AnalyticsException("chDB returned no result; the connection is closed.");
        }

        try
        {
            if (_native.ResultError(result) is { } error)
            {
                throw ToException(error);
            }
        }
        finally
        {
            _native.DestroyResult(result);
        }

        _databases[connection] = database;
    }

    internal static AnalyticsException ToException(string error)
    {
        var match = ErrorCode().Match(error);
        return new AnalyticsException(error.TrimEnd(), match.Success ? int.Parse(match.Groups[1].ValueSpan, provider: null) : null);
    }

    private void CloseConnections()
    {
        foreach (var connection in _connections)
        {
            ChDbEngine.Close(_native, connection);
        }

        _connections.Clear();
    }

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?\z")]
    private static partial Regex TableName();

    [GeneratedRegex(@"Code: (\d+)\.")]
    private static partial Regex ErrorCode();

    /// <summary>A statement encoded on the caller's thread, so the lane thread only talks to chDB.</summary>
    private sealed record Statement(byte[] Sql, byte[] Format, List<(byte[] Name, byte[] Value)>? Parameters, string? Database = null)
    {
        public static Statement Create(string sql, IReadOnlyDictionary<string, object?>? parameters, byte[] format) =>
            new(Encoding.UTF8.GetBytes(sql), format, parameters is { Count: > 0 } ? ChDbParameters.Encode(sql, parameters) : null);
    }
}
