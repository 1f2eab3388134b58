using System.Globalization;
using System.Runtime.CompilerServices;
using AgentStack.EventStore.Common;
using AgentStack.Events;
using Npgsql;
using NpgsqlTypes;

[assembly: InternalsVisibleTo("AgentStack.EventStore.Tests")]

namespace AgentStack.EventStore.Marten;

/// <summary>
/// The distributed event store (issue 4): the log in one PostgreSQL table, in a schema Marten manages.
/// Marten's own event tables are not used, because the port asks for three things mt_events cannot give:
/// positions that are gapless and become visible in order (mt_events.seq_id comes from a sequence, which
/// leaves gaps on rollback and lets a later commit show a lower number), data returned byte for byte
/// (Marten stores event bodies as jsonb, which reorders keys and drops whitespace) and a recorded time
/// taken from <see cref="TimeProvider"/> that the hash chain covers. See docs/event-store.md.
/// <para>
/// Appends from every caller of this instance go through one writer loop that commits them in groups
/// (<see cref="GroupCommitQueue"/>: one transaction per group, as the SQLite store does). Each transaction
/// first locks the single row of the lock table, so across all processes one transaction appends at a
/// time: it reads the last position, checks expected versions against the stream heads it reads under
/// that lock, inserts with positions last+1, last+2, ... and commits. PostgreSQL makes a commit visible before it releases its row locks,
/// so the next appender starts after it and readers always see a gapless prefix of the log.
/// </para>
/// </summary>
public sealed class MartenEventStore : IEventStore, ICommittedEventsSource, IAsyncDisposable
{
    private const int ReadPageSize = 256;
    private const string Columns = "position, stream, version, type, recorded_at, data, hash, prev_hash";

    private static readonly GroupCommitMetrics Metrics = new("AgentStack.EventStore.Marten",
        commitsDescription: "Group commits of the PostgreSQL event store.",
        eventsDescription: "Events durably appended to the PostgreSQL event store.");

    private readonly MartenEventStoreOptions options;
    private readonly TimeProvider timeProvider;
    private readonly MartenSchema schema;
    // ReadAllAsync's statement for each EventDataScope, in the enum's order.
    private readonly string[] selectAll;
    private readonly NpgsqlDataSource dataSource;
    private readonly NpgsqlDataSource listenerDataSource;
    private readonly SemaphoreSlim schemaGate = new(1, 1);
    // Its known last position comes from this instance's commits and from NOTIFY.
    private readonly GroupCommitQueue queue;
    private readonly CancellationTokenSource stopping = new();
    private readonly Lock listenerGate = new();

    private volatile bool schemaReady;
    private Task? listenerLoop;
    private TaskCompletionSource listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int disposed;

    public MartenEventStore(MartenEventStoreOptions options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.ConnectionString);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxBatchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxBatchBytes);

        this.options = options;
        this.timeProvider = timeProvider;
        schema = new MartenSchema(options.Schema);
        selectAll = [.. Enum.GetValues<EventDataScope>().Select(SelectAll)];
        dataSource = NpgsqlDataSource.Create(options.ConnectionString);
        // The listener holds its connection for the store's lifetime: keepalives notice a dead peer,
        // and its own pool keeps it from taking a slot the appends and reads need.
        listenerDataSource = NpgsqlDataSource.Create(
            new NpgsqlConnectionStringBuilder(options.ConnectionString) { KeepAlive = 30, MaxPoolSize = 1 }.ConnectionString);
        queue = new GroupCommitQueue(options.MaxBatchSize, options.MaxBatchBytes, timeProvider, Metrics, BeginBatchAsync);
    }

    public Task<AppendResult> AppendAsync(IReadOnlyList<StreamAppend> appends, CancellationToken cancellationToken) =>
        queue.AppendAsync(appends, cancellationToken);

    public void OnCommitted(Action<IReadOnlyList<StoredEvent>> committed) => queue.OnCommitted(committed);

    public async IAsyncEnumerable<StoredEvent> ReadStreamAsync(string stream, long fromVersion,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        // Paged, each page its own statement: a slow consumer (a replay streamed to a browser) holds
        // no connection and no snapshot between pages.
        var from = Math.Max(fromVersion, 1);
        while (true)
        {
            var page = await QueryAsync(
                $"SELECT {Columns} FROM {schema.Events} WHERE stream = @stream AND version >= @from ORDER BY version LIMIT @limit",
                parameters =>
                {
                    parameters.AddWithValue("stream", NpgsqlDbType.Text, stream);
                    parameters.AddWithValue("from", from);
                    parameters.AddWithValue("limit", ReadPageSize);
                }, ReadPageSize, cancellationToken);
            foreach (var e in page) yield return e;
            if (page.Count < ReadPageSize) yield break;
            from = page[^1].Version + 1;
        }
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "the SQL names only the events table of the configured schema (MartenSchema, validated as an identifier); every value is a parameter")]
    public async Task<long[]> ReadStreamVersionsAsync(IReadOnlyList<string> streams, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(streams);
        if (streams.Count == 0) return [];
        try
        {
            await EnsureSchemaAsync(cancellationToken);
            // One descending index seek per stream, as the writer reads its heads; absent streams give no row.
            await using var command = dataSource.CreateCommand($"""
                SELECT s.stream, h.version
                FROM unnest(@streams) AS s(stream)
                CROSS JOIN LATERAL (
                    SELECT version FROM {schema.Events} e WHERE e.stream = s.stream ORDER BY version DESC LIMIT 1
                ) AS h
                """);
            command.Parameters.AddWithValue("streams", NpgsqlDbType.Array | NpgsqlDbType.Text, streams.ToArray());
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await StreamVersions.InOrderAsync(reader, streams, cancellationToken);
        }
        catch (Exception e) when (IsDatabaseFailure(e, cancellationToken))
        {
            throw new EventStoreUnavailableException("The event store could not be read.", e);
        }
    }

    public Task<IReadOnlyList<StoredEvent>> ReadAllAsync(long afterPosition, int maxCount,
        CancellationToken cancellationToken) =>
        ReadAllAsync(afterPosition, maxCount, EventDataScope.All, cancellationToken);

    public async Task<IReadOnlyList<StoredEvent>> ReadAllAsync(long afterPosition, int maxCount, EventDataScope data,
        CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxCount);
        if (maxCount == 0) return [];
        // Appends are serialised and each commit is visible before the next appender starts, so every
        // row with a lower position is already visible here: reading "after N" can never skip an event
        // that commits later with a lower position (no high-water-mark bookkeeping needed).
        return await QueryAsync(selectAll[(int)data],
            parameters =>
            {
                parameters.AddWithValue("after", afterPosition);
                parameters.AddWithValue("limit", maxCount);
            }, Math.Min(maxCount, 1024), cancellationToken);
    }

    public async Task WaitForEventsAfterAsync(long afterPosition, CancellationToken cancellationToken)
    {
        // The listener publishes the last position right after LISTEN succeeds and on every NOTIFY, so
        // once it is listening, the queue's last position misses no commit of any process.
        await EnsureListeningAsync(cancellationToken);
        await queue.WaitForPositionAfterAsync(afterPosition, cancellationToken);
    }

    public async Task<long> GetLastPositionAsync(CancellationToken cancellationToken)
    {
        try
        {
            await EnsureSchemaAsync(cancellationToken);
            await using var command = dataSource.CreateCommand($"SELECT COALESCE(MAX(position), 0) FROM {schema.Events}");
            var last = (long)(await command.ExecuteScalarAsync(cancellationToken))!;
            queue.Publish(last);
            return last;
        }
        catch (Exception e) when (IsDatabaseFailure(e, cancellationToken))
        {
            throw new EventStoreUnavailableException("The event store could not be read.", e);
        }
    }

    /// <summary>Stops accepting appends, commits those already queued, then closes the connections.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 1) return;
        await queue.DisposeAsync();
        await stopping.CancelAsync();
        Task? listener;
        lock (listenerGate) listener = listenerLoop;
        if (listener is not null) await listener;
        await listenerDataSource.DisposeAsync();
        await dataSource.DisposeAsync();
        stopping.Dispose();
        schemaGate.Dispose();
    }

    private async Task EnsureSchemaAsync(CancellationToken cancellationToken)
    {
        if (schemaReady) return;
        await schemaGate.WaitAsync(cancellationToken);
        try
        {
            if (schemaReady) return;
            await schema.ApplyAsync(dataSource, options.ConnectionString, cancellationToken);
            schemaReady = true;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Marten/Weasel wrap driver errors in their own types: whatever stops the schema, the store cannot persist.
            throw new EventStoreUnavailableException("The event store's schema could not be created.", e);
        }
        finally
        {
            schemaGate.Release();
        }
    }

    private async ValueTask<IGroupCommitTransaction> BeginBatchAsync(IEnumerable<StreamAppend> appends)
    {
        await EnsureSchemaAsync(CancellationToken.None);
        var connection = await dataSource.OpenConnectionAsync();
        NpgsqlTransaction? transaction = null;
        try
        {
            transaction = await connection.BeginTransactionAsync();
            var startPosition = await LockLogAsync(connection, transaction);
            var heads = await ReadHeadsAsync(connection, transaction, appends);
            return new Batch(schema, connection, transaction, startPosition, heads);
        }
        catch
        {
            if (transaction is not null) await transaction.DisposeAsync();
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Takes the log's write lock, across all processes, and returns the last position under it.</summary>
    private async Task<long> LockLogAsync(NpgsqlConnection connection, NpgsqlTransaction transaction)
    {
        // synchronous_commit on (the default, made explicit): COMMIT returns only once the WAL is
        // flushed, so a 2xx means committed in PostgreSQL (invariant 1). The lock statement and the
        // MAX are separate statements, so in READ COMMITTED the MAX takes its snapshot after the lock
        // is granted and sees the previous appender's commit.
        await using var start = new NpgsqlBatch(connection, transaction);
        // set_config(..., true) is SET LOCAL as a row-returning statement, so each command of the
        // batch has exactly one result set to step over.
        var settings = new NpgsqlBatchCommand(
            "SELECT set_config('synchronous_commit', 'on', true), set_config('lock_timeout', @lock_timeout, true)");
        settings.Parameters.AddWithValue("lock_timeout",
            ((long)options.LockTimeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture));
        start.BatchCommands.Add(settings);
        start.BatchCommands.Add(new NpgsqlBatchCommand($"SELECT id FROM {schema.Lock} WHERE id = 1 FOR UPDATE"));
        start.BatchCommands.Add(new NpgsqlBatchCommand($"SELECT COALESCE(MAX(position), 0) FROM {schema.Events}"));
        await using var reader = await start.ExecuteReaderAsync();
        await reader.NextResultAsync();
        if (!await reader.ReadAsync()) throw new InvalidOperationException($"The lock row of {schema.Lock} is missing.");
        await reader.NextResultAsync();
        await reader.ReadAsync();
        return reader.GetInt64(0);
    }

    /// <summary>Each stream's last version and hash, one index seek per stream, read under the log lock.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "the SQL names only the events table of the configured schema (MartenSchema, validated as an identifier); every value is a parameter")]
    private async Task<Dictionary<string, StreamHead>> ReadHeadsAsync(NpgsqlConnection connection,
        NpgsqlTransaction transaction, IEnumerable<StreamAppend> appends)
    {
        var streams = appends.Select(a => a.Stream).Distinct(StringComparer.Ordinal).ToArray();
        var heads = new Dictionary<string, StreamHead>(streams.Length, StringComparer.Ordinal);
        await using var command = new NpgsqlCommand($"""
            SELECT s.stream, h.version, h.hash
            FROM unnest(@streams) AS s(stream)
            CROSS JOIN LATERAL (
                SELECT version, hash FROM {schema.Events} e WHERE e.stream = s.stream ORDER BY version DESC LIMIT 1
            ) AS h
            """, connection, transaction);
        command.Parameters.AddWithValue("streams", NpgsqlDbType.Array | NpgsqlDbType.Text, streams);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            heads[reader.GetString(0)] = new StreamHead(reader.GetInt64(1), reader.GetString(2));
        return heads;
    }

    private async Task EnsureListeningAsync(CancellationToken cancellationToken)
    {
        Task ready;
        lock (listenerGate)
        {
            ObjectDisposedException.ThrowIf(disposed == 1, this);
            listenerLoop ??= Task.Run(ListenAsync, CancellationToken.None);
            ready = listening.Task;
        }
        await ready.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Holds a LISTEN connection for the store's lifetime. Every append transaction NOTIFYs its last
    /// position, delivered at commit, so waiters in any process wake without polling. After the connection
    /// drops it reconnects and re-reads the last position, so commits made meanwhile are not missed.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "LISTEN takes an identifier, not a parameter: the channel and the table derive from the configured schema (MartenSchema, validated as an identifier)")]
    private async Task ListenAsync()
    {
        var token = stopping.Token;
        var backoff = TimeSpan.FromMilliseconds(100);
        while (!token.IsCancellationRequested)
        {
            try
            {
                await EnsureSchemaAsync(token);
                await using var connection = await listenerDataSource.OpenConnectionAsync(token);
                connection.Notification += (_, e) =>
                {
                    if (long.TryParse(e.Payload, NumberStyles.None, CultureInfo.InvariantCulture, out var position))
                        queue.Publish(position);
                };
                await using (var listen = new NpgsqlCommand($"LISTEN \"{schema.NotifyChannel}\"", connection))
                    await listen.ExecuteNonQueryAsync(token);
                await using (var last = new NpgsqlCommand($"SELECT COALESCE(MAX(position), 0) FROM {schema.Events}", connection))
                    queue.Publish((long)(await last.ExecuteScalarAsync(token))!);
                listening.TrySetResult();
                backoff = TimeSpan.FromMilliseconds(100);
                while (true) await connection.WaitAsync(token);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception)
            {
                // Waiters keep waiting through an outage; readers see EventStoreUnavailableException meanwhile.
                try
                {
                    await Task.Delay(backoff, timeProvider, token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    /// <summary>
    /// The whole log's read with the data of some events left out: a bytea left out of the select list is not
    /// detoasted, so those payloads stay where PostgreSQL stored them.
    /// </summary>
    private string SelectAll(EventDataScope data)
    {
        var dataColumn = data switch
        {
            EventDataScope.All => "data",
            EventDataScope.AllButSpans =>
                $"CASE WHEN type IN ('{EventTypes.SpanStarted}', '{EventTypes.SpanCompleted}') THEN ''::bytea ELSE data END",
            EventDataScope.None => "''::bytea",
            _ => throw new ArgumentOutOfRangeException(nameof(data), data, null),
        };
        return $"SELECT position, stream, version, type, recorded_at, {dataColumn}, hash, prev_hash FROM {schema.Events} " +
            "WHERE position > @after ORDER BY position LIMIT @limit";
    }

    private async Task<List<StoredEvent>> QueryAsync(string sql, Action<NpgsqlParameterCollection> bind,
        int capacity, CancellationToken cancellationToken)
    {
        try
        {
            await EnsureSchemaAsync(cancellationToken);
            await using var command = dataSource.CreateCommand(sql);
            bind(command.Parameters);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var events = new List<StoredEvent>(capacity);
            while (await reader.ReadAsync(cancellationToken)) events.Add(ToStoredEvent(reader));
            return events;
        }
        catch (Exception e) when (IsDatabaseFailure(e, cancellationToken))
        {
            throw new EventStoreUnavailableException("The event store could not be read.", e);
        }
    }

    // Synchronous column reads: the row is in memory once ReadAsync returned (no sequential access).
    private static StoredEvent ToStoredEvent(NpgsqlDataReader reader) => new(
        Position: reader.GetInt64(0),
        Stream: reader.GetString(1),
        Version: reader.GetInt64(2),
        Type: reader.GetString(3),
        RecordedAt: new DateTimeOffset(reader.GetFieldValue<DateTime>(4), TimeSpan.Zero),
        Data: reader.GetFieldValue<byte[]>(5),
        Hash: reader.GetString(6),
        PrevHash: reader.GetString(7));

    private static bool IsDatabaseFailure(Exception e, CancellationToken cancellationToken) =>
        e is NpgsqlException or TimeoutException
        || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested)
        || (e is InvalidOperationException && e.InnerException is NpgsqlException);

    /// <summary>A batch's new rows, column by column: inserted with one statement through unnest.</summary>
    private sealed class Rows
    {
        private readonly List<long> positions = [], versions = [];
        private readonly List<string> streams = [], types = [], hashes = [], prevHashes = [];
        private readonly List<DateTime> recordedAts = [];
        private readonly List<byte[]> data = [];

        public int Count => positions.Count;

        public void Add(long position, string stream, long version, string type, DateTimeOffset recordedAt,
            byte[] bytes, string hash, string prevHash)
        {
            positions.Add(position);
            streams.Add(stream);
            versions.Add(version);
            types.Add(type);
            recordedAts.Add(recordedAt.UtcDateTime);
            data.Add(bytes);
            hashes.Add(hash);
            prevHashes.Add(prevHash);
        }

        public NpgsqlBatchCommand ToInsert(string table)
        {
            var command = new NpgsqlBatchCommand($"""
                INSERT INTO {table} ({Columns})
                SELECT * FROM unnest(@positions, @streams, @versions, @types, @recorded_at, @data, @hashes, @prev_hashes)
                """);
            command.Parameters.AddWithValue("positions", NpgsqlDbType.Array | NpgsqlDbType.Bigint, positions.ToArray());
            command.Parameters.AddWithValue("streams", NpgsqlDbType.Array | NpgsqlDbType.Text, streams.ToArray());
            command.Parameters.AddWithValue("versions", NpgsqlDbType.Array | NpgsqlDbType.Bigint, versions.ToArray());
            command.Parameters.AddWithValue("types", NpgsqlDbType.Array | NpgsqlDbType.Text, types.ToArray());
            command.Parameters.AddWithValue("recorded_at", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz, recordedAts.ToArray());
            command.Parameters.AddWithValue("data", NpgsqlDbType.Array | NpgsqlDbType.Bytea, data.ToArray());
            command.Parameters.AddWithValue("hashes", NpgsqlDbType.Array | NpgsqlDbType.Text, hashes.ToArray());
            command.Parameters.AddWithValue("prev_hashes", NpgsqlDbType.Array | NpgsqlDbType.Text, prevHashes.ToArray());
            return command;
        }
    }


    /// <summary>
    /// A group's transaction under the log lock. Versions are checked and hashes computed in memory; the
    /// rows of the calls that were not rejected go in with one INSERT at commit, so a stale call costs no
    /// round trip and positions are numbered only for rows certain to be inserted.
    /// </summary>
    private sealed class Batch(MartenSchema schema, NpgsqlConnection connection, NpgsqlTransaction transaction,
        long startPosition, Dictionary<string, StreamHead> heads) : IGroupCommitTransaction
    {
        private readonly Rows rows = new();

        public long StartPosition { get; } = startPosition;

        public StreamHead ReadHead(string stream) => heads.GetValueOrDefault(stream, StreamHead.Empty);

        public long Insert(string stream, long version, string type, DateTimeOffset recordedAt, byte[] data,
            string hash, string prevHash)
        {
            var position = StartPosition + rows.Count + 1;
            rows.Add(position, stream, version, type, recordedAt, data, hash, prevHash);
            return position;
        }

        public async ValueTask<bool> CommitAsync()
        {
            if (rows.Count == 0)
            {
                await transaction.RollbackAsync();
                return false;
            }
            await using var insert = new NpgsqlBatch(connection, transaction);
            insert.BatchCommands.Add(rows.ToInsert(schema.Events));
            var notify = new NpgsqlBatchCommand("SELECT pg_notify(@channel, @position)");
            notify.Parameters.AddWithValue("channel", schema.NotifyChannel);
            notify.Parameters.AddWithValue("position",
                (StartPosition + rows.Count).ToString(CultureInfo.InvariantCulture));
            insert.BatchCommands.Add(notify);
            await insert.ExecuteNonQueryAsync();
            await transaction.CommitAsync();
            return true;
        }

        public async ValueTask DisposeAsync()
        {
            await transaction.DisposeAsync();
            await connection.DisposeAsync();
        }
    }
}
