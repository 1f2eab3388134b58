namespace AgentStack.Projections.Analytics;

/// <summary>
/// The analytics port (docs/architecture.md: insert/query). The same ClickHouse SQL runs through every
/// adapter: chDB in-process (embedded default) and a ClickHouse server (distributed).
/// Query parameters use ClickHouse's own syntax, <c>{name:Type}</c>, never string concatenation.
/// </summary>
public interface IAnalyticsStore
{
    /// <summary>Runs a statement that returns no rows (DDL, INSERT … SELECT).</summary>
    Task ExecuteAsync(string sql, IReadOnlyDictionary<string, object?>? parameters, CancellationToken cancellationToken);

    /// <summary>Inserts rows given as JSONEachRow (one JSON object a line, UTF-8). All or nothing.</summary>
    Task InsertJsonEachRowAsync(string table, ReadOnlyMemory<byte> rows, CancellationToken cancellationToken);

    /// <summary>
    /// Inserts rows given in ClickHouse's RowBinary format (every column the table stores, in its order; no
    /// names, no escaping). All or nothing. The projections' bulk path (issue 14: rebuild throughput).
    /// </summary>
    Task InsertRowBinaryAsync(string table, ReadOnlyMemory<byte> rows, CancellationToken cancellationToken);

    /// <summary>Runs a query and returns its result in the given ClickHouse output format (e.g. JSONEachRow).</summary>
    Task<byte[]> QueryAsync(string sql, IReadOnlyDictionary<string, object?>? parameters, string format, CancellationToken cancellationToken);
}

/// <summary>A query or statement the engine refused; <see cref="Code"/> is ClickHouse's error code when known.</summary>
public sealed class AnalyticsException(string message, int? code = null, Exception? inner = null) : Exception(message, inner)
{
    public int? Code { get; } = code;
}
