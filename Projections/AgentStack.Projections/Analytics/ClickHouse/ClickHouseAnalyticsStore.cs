using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using AgentStack.Projections.Analytics.ChDb;
using ClickHouse.Driver;
using ClickHouse.Driver.ADO;
using ClickHouse.Driver.ADO.Parameters;

namespace AgentStack.Projections.Analytics.ClickHouse;

/// <summary>
/// The analytics port on a ClickHouse server, through ClickHouse.Driver over HTTP (issue 4, distributed
/// topology). The SQL is the chDB adapter's, unchanged: <c>{name:Type}</c> placeholders travel as the
/// server's own query parameters (<c>param_name</c>), inserts as a raw body in the caller's format (RowBinary
/// for the spans and traces rows, JSONEachRow for the smaller tables), query results as the server's bytes in
/// the requested format. One <see cref="ClickHouseClient"/> (thread-safe, pooled
/// HTTP connections) serves the process.
/// </summary>
public sealed partial class ClickHouseAnalyticsStore : IAnalyticsStore, IDisposable
{
    private readonly ClickHouseClient _client;
    private readonly Dictionary<string, object> _settings;

    /// <param name="connectionString">ClickHouse.Driver's form, e.g. <c>Host=ch;Port=8123;Username=default;Password=…</c>.</param>
    /// <param name="settings">ClickHouse settings sent with every statement (a cluster needs
    /// <c>distributed_foreground_insert</c>; see <see cref="AnalyticsRegistration"/>).</param>
    public ClickHouseAnalyticsStore(string connectionString, IReadOnlyDictionary<string, object>? settings = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        _client = new ClickHouseClient(new ClickHouseClientSettings(connectionString)
        {
            // Values become the same text the chDB adapter binds (ChDbParameters, measured on 26.7), so a
            // parameter means the same on both engines: the server parses param_* with the reader chDB uses.
            ParameterFormatter = new SharedParameterFormatter(),
            // These only steer how the driver itself encodes and decodes JSON-typed columns in RowBinary; this
            // adapter never asks it to (rows arrive encoded, results leave as bytes), so None keeps the driver
            // from sending those settings with every request.
            JsonReadMode = JsonReadMode.None,
            JsonWriteMode = JsonWriteMode.None,
        });
        // wait_end_of_query: the server buffers the result, so a failure late in a query is an HTTP 500
        // with its code rather than a 200 whose body stops part-way.
        _settings = new Dictionary<string, object>(settings ?? new Dictionary<string, object>()) { ["wait_end_of_query"] = 1 };
    }

    public async Task ExecuteAsync(string sql, IReadOnlyDictionary<string, object?>? parameters, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sql);
        try
        {
            await _client.ExecuteNonQueryAsync(sql, Parameters(parameters), Options(), cancellationToken);
        }
        catch (ClickHouseServerException e)
        {
            throw ToException(e);
        }
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "the SQL is the analytics queries' own text (the same the chDB adapter runs); every request value travels as a typed ClickHouse parameter")]
    public async Task<byte[]> QueryAsync(
        string sql, IReadOnlyDictionary<string, object?>? parameters, string format, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sql);
        ArgumentException.ThrowIfNullOrWhiteSpace(format);
        if (!Identifier().IsMatch(format))
        {
            throw new ArgumentException($"'{format}' is not a ClickHouse format name.", nameof(format));
        }

        // ClickHouseClient.ExecuteRawResultAsync takes no parameters; a command does. The format goes as
        // the default_format setting (the driver's own default is RowBinaryWithNamesAndTypes), so the SQL
        // stays exactly what the chDB adapter runs.
        using var connection = _client.CreateConnection();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (ClickHouseDbParameter parameter in Parameters(parameters) ?? [])
        {
            command.Parameters.Add(parameter);
        }

        foreach (var (name, value) in _settings)
        {
            command.CustomSettings[name] = value;
        }

        command.CustomSettings["default_format"] = format;
        try
        {
            using var result = await command.ExecuteRawResultAsync(cancellationToken);
            return await result.ReadAsByteArrayAsync();
        }
        catch (ClickHouseServerException e)
        {
            throw ToException(e);
        }
    }

    public Task InsertJsonEachRowAsync(string table, ReadOnlyMemory<byte> rows, CancellationToken cancellationToken) =>
        InsertAsync(table, "JSONEachRow", rows, cancellationToken);

    public Task InsertRowBinaryAsync(string table, ReadOnlyMemory<byte> rows, CancellationToken cancellationToken) =>
        InsertAsync(table, "RowBinary", rows, cancellationToken);

    private async Task InsertAsync(string table, string format, ReadOnlyMemory<byte> rows, CancellationToken cancellationToken)
    {
        // Spliced into INSERT INTO by the driver (an identifier cannot be a parameter there), so only a
        // plain [database.]table is accepted, as on chDB.
        if (!TableName().IsMatch(table))
        {
            throw new ArgumentException($"'{table}' is not a [database.]table identifier.", nameof(table));
        }

        if (rows.IsEmpty)
        {
            return;
        }

        try
        {
            // One HTTP request, one INSERT: the server parses the whole body before it commits the part,
            // so a bad row fails the batch and nothing lands (all or nothing, as the port promises).
            // The projection's rows are array-backed: stream them in place instead of copying a batch (MBs).
            using var body = MemoryMarshal.TryGetArray(rows, out var segment)
                ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
                : new MemoryStream(rows.ToArray(), writable: false);
            using var response = await _client.InsertRawStreamAsync(
                table, body, format, columns: null, useCompression: true, Options(), cancellationToken);
        }
        catch (ClickHouseServerException e)
        {
            throw ToException(e);
        }
    }

    public void Dispose() => _client.Dispose();

    private QueryOptions Options() => new() { CustomSettings = new Dictionary<string, object>(_settings) };

    private static ClickHouseParameterCollection? Parameters(IReadOnlyDictionary<string, object?>? parameters)
    {
        if (parameters is not { Count: > 0 })
        {
            return null;
        }

        var collection = new ClickHouseParameterCollection();
        foreach (var (name, value) in parameters)
        {
            if (!Identifier().IsMatch(name))
            {
                throw new ArgumentException($"Query parameter name '{name}' is not an identifier.", nameof(parameters));
            }

            collection.Add(new ClickHouseDbParameter { ParameterName = name, Value = value });
        }

        return collection;
    }

    private static AnalyticsException ToException(ClickHouseServerException e) =>
        new(e.Message.TrimEnd(), e.ErrorCode > 0 ? e.ErrorCode : null, e);

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?\z")]
    private static partial Regex TableName();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*\z")]
    private static partial Regex Identifier();

    /// <summary>The driver asks this first for every non-null value; the type is the placeholder's, e.g. <c>DateTime64(6, 'UTC')</c>.</summary>
    private sealed class SharedParameterFormatter : IParameterFormatter
    {
        public string Format(object value, string typeName, string parameterName) =>
            ChDbParameters.Format(parameterName, value, typeName);
    }
}
