using System.Runtime.CompilerServices;
using System.Text.Json;
using AgentStack.Events;
using AgentStack.EventStore.Sqlite;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace AgentStack.Audit;

/// <summary>
/// Checkpoints of the embedded deployment: <c>audit.db</c> beside <c>events.db</c> in the data directory. Opened
/// <paramref name="readOnly"/>, as the command line checks a data directory, it is read and nothing is written to it or beside it:
/// <see cref="InitializeAsync"/> then checks the schema is there instead of creating it.
/// </summary>
public sealed class SqliteCheckpointStore(string databasePath, bool readOnly = false) : ICheckpointStore
{
    public const string DefaultFileName = "audit.db";

    private readonly bool readOnly = readOnly;

    private readonly string connectionString = readOnly
        ? ReadOnlySqliteEventStore.ReadOnlyConnectionString(databasePath, TimeSpan.FromSeconds(10))
        : new SqliteConnectionStringBuilder
        {
            DataSource = Path.GetFullPath(databasePath), Mode = SqliteOpenMode.ReadWriteCreate, Pooling = true, DefaultTimeout = 10,
        }.ToString();

    /// <summary>Creates the schema; opened read-only, throws <see cref="SqliteException"/> when the file holds none (empty, or another database).</summary>
    public async Task InitializeAsync(CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = connection.CreateCommand();
        // Two constants, one statement each (CA2100 reads a conditional expression as possibly user input).
        if (readOnly)
            command.CommandText = SelectSchema;
        else
            command.CommandText = CreateSchema;
        await command.ExecuteNonQueryAsync(ct);
    }

    private const string CreateSchema = """
        PRAGMA journal_mode = WAL;
        CREATE TABLE IF NOT EXISTS checkpoints (
            tree_size INTEGER PRIMARY KEY, root_hash TEXT NOT NULL, timestamp INTEGER NOT NULL,
            key_id TEXT NOT NULL, algorithm TEXT NOT NULL, signature TEXT NOT NULL, frontier TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS stream_heads (
            stream TEXT PRIMARY KEY, version INTEGER NOT NULL, hash TEXT NOT NULL, position INTEGER NOT NULL,
            recorded_at INTEGER NOT NULL);
        """;

    // Every column the reads below name: a statement naming one that is missing is refused when it is prepared.
    private const string SelectSchema = $"""
        SELECT {Columns}, frontier FROM checkpoints LIMIT 0;
        SELECT stream, version, hash, position, recorded_at FROM stream_heads LIMIT 0;
        """;

    public async Task<(Checkpoint Checkpoint, IReadOnlyList<string> Frontier)?> GetLatestAsync(CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns}, frontier FROM checkpoints ORDER BY tree_size DESC LIMIT 1";
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) return null;
        var checkpoint = Read(reader);
        return (checkpoint, CheckpointFrontier.Parse(Text(reader, 6), checkpoint.TreeSize));
    }

    public async Task<Checkpoint?> GetAsync(long treeSize, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM checkpoints WHERE tree_size = $size";
        command.Parameters.AddWithValue("$size", treeSize);
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? Read(reader) : null;
    }

    public async Task<IReadOnlyList<Checkpoint>> ListAsync(int limit, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM checkpoints ORDER BY tree_size DESC LIMIT $limit";
        command.Parameters.AddWithValue("$limit", limit);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var list = new List<Checkpoint>();
        while (await reader.ReadAsync(ct)) list.Add(Read(reader));
        return list;
    }

    public async Task<bool> AddAsync(Checkpoint checkpoint, IReadOnlyList<string> frontier,
        IReadOnlyCollection<CheckpointedHead> heads, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(ct);
        await using (var insert = connection.CreateCommand())
        {
            insert.Transaction = transaction;
            insert.CommandText = """
                INSERT INTO checkpoints (tree_size, root_hash, timestamp, key_id, algorithm, signature, frontier)
                VALUES ($size, $root, $time, $key, $algorithm, $signature, $frontier) ON CONFLICT DO NOTHING
                """;
            insert.Parameters.AddWithValue("$size", checkpoint.TreeSize);
            insert.Parameters.AddWithValue("$root", checkpoint.RootHash);
            insert.Parameters.AddWithValue("$time", EventHash.ToUnixMicroseconds(checkpoint.Timestamp));
            insert.Parameters.AddWithValue("$key", checkpoint.KeyId);
            insert.Parameters.AddWithValue("$algorithm", checkpoint.Algorithm);
            insert.Parameters.AddWithValue("$signature", checkpoint.Signature);
            insert.Parameters.AddWithValue("$frontier", JsonSerializer.Serialize(frontier));
            if (await insert.ExecuteNonQueryAsync(ct) == 0) return false;
        }
        await using (var upsert = connection.CreateCommand())
        {
            upsert.Transaction = transaction;
            upsert.CommandText = """
                INSERT INTO stream_heads (stream, version, hash, position, recorded_at) VALUES ($stream, $version, $hash, $position, $time)
                ON CONFLICT (stream) DO UPDATE SET version = excluded.version, hash = excluded.hash,
                    position = excluded.position, recorded_at = excluded.recorded_at
                WHERE excluded.position > stream_heads.position
                """;
            var stream = upsert.Parameters.Add("$stream", SqliteType.Text);
            var version = upsert.Parameters.Add("$version", SqliteType.Integer);
            var hash = upsert.Parameters.Add("$hash", SqliteType.Text);
            var position = upsert.Parameters.Add("$position", SqliteType.Integer);
            var time = upsert.Parameters.Add("$time", SqliteType.Integer);
            foreach (var head in heads)
            {
                stream.Value = head.Stream;
                version.Value = head.Version;
                hash.Value = head.Hash;
                position.Value = head.Position;
                time.Value = EventHash.ToUnixMicroseconds(head.RecordedAt);
                await upsert.ExecuteNonQueryAsync(ct);
            }
        }
        await transaction.CommitAsync(ct);
        return true;
    }

    public async IAsyncEnumerable<CheckpointedHead> ReadHeadsAsync(string streamPrefix, [EnumeratorCancellation] CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT stream, version, hash, position, recorded_at FROM stream_heads
            WHERE substr(stream, 1, length($prefix)) = $prefix ORDER BY stream
            """;
        command.Parameters.AddWithValue("$prefix", streamPrefix);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            yield return new CheckpointedHead(Text(reader, 0), Integer(reader, 1), Text(reader, 2), Integer(reader, 3),
                Time(reader, 4));
    }

    private const string Columns = "tree_size, root_hash, timestamp, key_id, algorithm, signature";

    private static Checkpoint Read(SqliteDataReader r) => new(Integer(r, 0), Text(r, 1), Time(r, 2), Text(r, 3), Text(r, 4), Text(r, 5));

    // SQLite keeps whatever value a hand edit puts in a column, and reads a text as the integer 0: each value is read only
    // as the type AddAsync wrote.
    private static long Integer(SqliteDataReader r, int i) =>
        !r.IsDBNull(i) && r.GetFieldType(i) == typeof(long) ? r.GetInt64(i) : throw Unreadable(r, i, "an integer");

    private static string Text(SqliteDataReader r, int i) =>
        !r.IsDBNull(i) && r.GetFieldType(i) == typeof(string) ? r.GetString(i) : throw Unreadable(r, i, "a text");

    private static DateTimeOffset Time(SqliteDataReader r, int i)
    {
        var microseconds = Integer(r, i);
        return microseconds is >= 0 and <= MaxMicroseconds
            ? EventHash.FromUnixMicroseconds(microseconds)
            : throw Unreadable(r, i, "a time in Unix microseconds");
    }

    private const long MaxMicroseconds = 253_402_300_799_999_999; // 9999-12-31T23:59:59.999999Z

    private static UnreadableCheckpointException Unreadable(SqliteDataReader r, int i, string expected)
    {
        var table = r.GetName(0) == "stream" ? "stream_heads" : "checkpoints";
        var value = r.IsDBNull(i) ? "NULL" : r.GetValue(i) switch
        {
            string text => $"'{(text.Length <= 40 ? text : text[..40] + "…")}'",
            byte[] => "a blob",
            var other => Convert.ToString(other, System.Globalization.CultureInfo.InvariantCulture),
        };
        return new UnreadableCheckpointException($"audit.db: {table}.{r.GetName(i)} of a stored row is {value}, not {expected}");
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken ct)
    {
        var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(ct);
        return connection;
    }
}

/// <summary>
/// Checkpoints of the distributed deployment: tables <c>audit_checkpoints</c> and <c>audit_stream_heads</c> in the
/// event store's PostgreSQL schema, so every queries host sees the same ones.
/// </summary>
public sealed class PostgresCheckpointStore : ICheckpointStore, IAsyncDisposable
{
    private readonly NpgsqlDataSource dataSource;
    private readonly string checkpoints;
    private readonly string heads;

    public PostgresCheckpointStore(string connectionString, string schema)
    {
        if (PostgresIdentifier.Refusal(schema) is { } refusal)
            throw new ArgumentException($"Schema '{schema}' {refusal}.", nameof(schema));
        dataSource = NpgsqlDataSource.Create(connectionString);
        Schema = schema;
        checkpoints = $"{schema}.audit_checkpoints";
        heads = $"{schema}.audit_stream_heads";
    }

    public string Schema { get; }

    public async Task InitializeAsync(CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"""
            CREATE SCHEMA IF NOT EXISTS {Schema};
            CREATE TABLE IF NOT EXISTS {checkpoints} (
                tree_size bigint PRIMARY KEY, root_hash text NOT NULL, timestamp bigint NOT NULL,
                key_id text NOT NULL, algorithm text NOT NULL, signature text NOT NULL, frontier text NOT NULL);
            CREATE TABLE IF NOT EXISTS {heads} (
                stream text PRIMARY KEY, version bigint NOT NULL, hash text NOT NULL, position bigint NOT NULL,
                recorded_at bigint NOT NULL);
            """);
        try
        {
            await command.ExecuteNonQueryAsync(ct);
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DuplicateObject)
        {
            // Another host created them at the same moment.
        }
    }

    public async Task<(Checkpoint Checkpoint, IReadOnlyList<string> Frontier)?> GetLatestAsync(CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"SELECT {Columns}, frontier FROM {checkpoints} ORDER BY tree_size DESC LIMIT 1");
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) return null;
        var checkpoint = Read(reader);
        return (checkpoint, CheckpointFrontier.Parse(reader.GetString(6), checkpoint.TreeSize));
    }

    public async Task<Checkpoint?> GetAsync(long treeSize, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"SELECT {Columns} FROM {checkpoints} WHERE tree_size = $1");
        command.Parameters.AddWithValue(treeSize);
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? Read(reader) : null;
    }

    public async Task<IReadOnlyList<Checkpoint>> ListAsync(int limit, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"SELECT {Columns} FROM {checkpoints} ORDER BY tree_size DESC LIMIT $1");
        command.Parameters.AddWithValue(limit);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var list = new List<Checkpoint>();
        while (await reader.ReadAsync(ct)) list.Add(Read(reader));
        return list;
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "the SQL names only tables of a schema validated as an identifier (see the constructor); every value is a parameter")]
    public async Task<bool> AddAsync(Checkpoint checkpoint, IReadOnlyList<string> frontier,
        IReadOnlyCollection<CheckpointedHead> streamHeads, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using (var insert = new NpgsqlCommand($"""
            INSERT INTO {checkpoints} (tree_size, root_hash, timestamp, key_id, algorithm, signature, frontier)
            VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING
            """, connection, transaction))
        {
            insert.Parameters.AddWithValue(checkpoint.TreeSize);
            insert.Parameters.AddWithValue(checkpoint.RootHash);
            insert.Parameters.AddWithValue(EventHash.ToUnixMicroseconds(checkpoint.Timestamp));
            insert.Parameters.AddWithValue(checkpoint.KeyId);
            insert.Parameters.AddWithValue(checkpoint.Algorithm);
            insert.Parameters.AddWithValue(checkpoint.Signature);
            insert.Parameters.AddWithValue(JsonSerializer.Serialize(frontier));
            if (await insert.ExecuteNonQueryAsync(ct) == 0) return false;
        }
        await using (var upsert = new NpgsqlCommand($"""
            INSERT INTO {heads} AS h (stream, version, hash, position, recorded_at)
            SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[])
            ON CONFLICT (stream) DO UPDATE SET version = excluded.version, hash = excluded.hash,
                position = excluded.position, recorded_at = excluded.recorded_at
            WHERE excluded.position > h.position
            """, connection, transaction))
        {
            upsert.Parameters.AddWithValue(streamHeads.Select(h => h.Stream).ToArray());
            upsert.Parameters.AddWithValue(streamHeads.Select(h => h.Version).ToArray());
            upsert.Parameters.AddWithValue(streamHeads.Select(h => h.Hash).ToArray());
            upsert.Parameters.AddWithValue(streamHeads.Select(h => h.Position).ToArray());
            upsert.Parameters.AddWithValue(streamHeads.Select(h => EventHash.ToUnixMicroseconds(h.RecordedAt)).ToArray());
            await upsert.ExecuteNonQueryAsync(ct);
        }
        await transaction.CommitAsync(ct);
        return true;
    }

    public async IAsyncEnumerable<CheckpointedHead> ReadHeadsAsync(string streamPrefix, [EnumeratorCancellation] CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            $"SELECT stream, version, hash, position, recorded_at FROM {heads} WHERE starts_with(stream, $1) ORDER BY stream");
        command.Parameters.AddWithValue(streamPrefix);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            yield return new CheckpointedHead(reader.GetString(0), reader.GetInt64(1), reader.GetString(2), reader.GetInt64(3),
                EventHash.FromUnixMicroseconds(reader.GetInt64(4)));
    }

    public ValueTask DisposeAsync() => dataSource.DisposeAsync();

    private const string Columns = "tree_size, root_hash, timestamp, key_id, algorithm, signature";

    private static Checkpoint Read(NpgsqlDataReader r) => new(r.GetInt64(0), r.GetString(1),
        EventHash.FromUnixMicroseconds(r.GetInt64(2)), r.GetString(3), r.GetString(4), r.GetString(5));
}

/// <summary>The tree's right edge stored with a checkpoint: a JSON array of hex hashes.</summary>
internal static class CheckpointFrontier
{
    public static IReadOnlyList<string> Parse(string json, long treeSize)
    {
        List<string?>? frontier = null;
        try
        {
            frontier = JsonSerializer.Deserialize<List<string?>>(json);
        }
        catch (JsonException)
        {
        }
        return frontier is not null && frontier.TrueForAll(hash => hash is not null)
            ? [.. frontier.OfType<string>()]
            : throw new UnreadableCheckpointException($"the frontier of the stored checkpoint at tree size {treeSize} is not a JSON array of hashes");
    }
}
