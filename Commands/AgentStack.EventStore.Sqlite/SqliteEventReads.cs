using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using AgentStack.EventStore.Common;
using AgentStack.Events;
using Microsoft.Data.Sqlite;

namespace AgentStack.EventStore.Sqlite;

/// <summary>
/// The reads of an <c>events.db</c>, each on a connection of <paramref name="connectionString"/>: shared by the store,
/// whose connections are read-only beside its writer, and by <see cref="ReadOnlySqliteEventStore"/>, which has no writer.
/// </summary>
internal sealed class SqliteEventReads(string connectionString, TimeSpan busyTimeout)
{
    private const int ReadPageSize = 256;

    /// <summary>Holds the reads of the whole log back while the store's writer restarts the WAL.</summary>
    public LogReadGate Gate { get; } = new();

    public string ConnectionString => connectionString;

    public async IAsyncEnumerable<StoredEvent> ReadStreamAsync(string stream, long fromVersion,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        // Paged, each page its own short read transaction: a slow consumer (a replay streamed to a
        // browser) must not pin a WAL snapshot, which would stop checkpoints and grow the WAL unbounded.
        var from = Math.Max(fromVersion, 1);
        while (true)
        {
            var page = await QueryAsync(SqliteSchema.SelectStream, parameters =>
            {
                parameters.AddWithValue("$stream", stream);
                parameters.AddWithValue("$from", from);
                parameters.AddWithValue("$limit", ReadPageSize);
            }, ReadPageSize, cancellationToken);
            foreach (var e in page) yield return e;
            if (page.Count < ReadPageSize) yield break;
            from = page[^1].Version + 1;
        }
    }

    public async Task<long[]> ReadStreamVersionsAsync(IReadOnlyList<string> streams, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(streams);
        if (streams.Count == 0) return [];
        try
        {
            await using var connection = new SqliteConnection(connectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = SqliteSchema.SelectVersions;
            command.Parameters.AddWithValue("$streams", JsonSerializer.Serialize(streams, StreamNames.Default.IReadOnlyListString));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await StreamVersions.InOrderAsync(reader, streams, cancellationToken);
        }
        catch (SqliteException e)
        {
            throw new EventStoreUnavailableException("The event store could not be read.", e);
        }
    }

    public static readonly StoredDataDecoder CopyData = (_, stored) => stored.ToArray();

    public async Task<IReadOnlyList<StoredEvent>> ReadAllAsync(long afterPosition, int maxCount, EventDataScope data,
        StoredDataDecoder decode, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxCount);
        if (maxCount == 0) return [];
        try
        {
            await using var connection = new SqliteConnection(connectionString);
            await connection.OpenAsync(cancellationToken);
            return SqliteLogReader.Read(connection, SqliteSchema.SelectAllWith(data), afterPosition, maxCount,
                busyTimeout, decode, Gate, cancellationToken);
        }
        catch (SqliteException e)
        {
            throw new EventStoreUnavailableException("The event store could not be read.", e);
        }
    }

    public async Task<long> GetLastPositionAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = new SqliteConnection(connectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = SqliteSchema.SelectLastPosition;
            return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
        }
        catch (SqliteException e)
        {
            throw new EventStoreUnavailableException("The event store could not be read.", e);
        }
    }

    /// <summary>Closes the pooled connections, which would otherwise keep the file (and its WAL) open after the store is gone.</summary>
    public void ClearPool()
    {
        using var connection = new SqliteConnection(connectionString);
        SqliteConnection.ClearPool(connection);
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "callers pass the constant SQL of SqliteSchema; every value is bound as a parameter")]
    private async Task<List<StoredEvent>> QueryAsync(string sql, Action<SqliteParameterCollection> bind,
        int capacity, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = new SqliteConnection(connectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            bind(command.Parameters);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var events = new List<StoredEvent>(capacity);
            while (await reader.ReadAsync(cancellationToken))
            {
                events.Add(ToStoredEvent(reader));
            }
            return events;
        }
        catch (SqliteException e)
        {
            throw new EventStoreUnavailableException("The event store could not be read.", e);
        }
    }

    // Synchronous on purpose: the row is already in memory once ReadAsync returned, and an async
    // column read per event would only add state machines to a hot read path.
    private static StoredEvent ToStoredEvent(SqliteDataReader reader) => new(
        Position: reader.GetInt64(0),
        Stream: reader.GetString(1),
        Version: reader.GetInt64(2),
        Type: reader.GetString(3),
        RecordedAt: EventHash.FromUnixMicroseconds(reader.GetInt64(4)),
        Data: reader.GetFieldValue<byte[]>(5),
        Hash: reader.GetString(6),
        PrevHash: reader.GetString(7));
}

/// <summary>Stream names as the JSON array <see cref="SqliteSchema.SelectVersions"/> reads, without reflection.</summary>
[JsonSerializable(typeof(IReadOnlyList<string>))]
internal sealed partial class StreamNames : JsonSerializerContext;
