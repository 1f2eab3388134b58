using System.Collections.Concurrent;
using AgentStack.Events;
using Npgsql;

namespace AgentStack.Projections.Running;

/// <summary>
/// Leases in PostgreSQL, timed by the database's clock so that workers' clocks need not agree.
/// Every worker heartbeats; each aims at ceil(parts / live workers), takes expired or free parts
/// (SKIP LOCKED, so two workers never take the same one) and hands back any above its share.
/// A worker that dies keeps its parts until their leases expire; then the others take them over
/// from the parts' checkpoints. A worker that lost a lease may still finish the batch in flight:
/// harmless, because projected rows are a pure function of the events (replacing tables).
/// One instance serves every projection runner of a process; each projection has its own rows.
/// </summary>
public sealed class PostgresProjectionLeases(string connectionString, ProjectionOptions options) : IProjectionLeases, IAsyncDisposable
{
    private readonly NpgsqlDataSource dataSource = NpgsqlDataSource.Create(connectionString);
    private readonly string schema = PostgresIdentifier.Require(options.LeaseSchema, $"{ProjectionOptions.Section}:LeaseSchema", maxLength: 63);
    private readonly SemaphoreSlim gate = new(1, 1);
    private readonly ConcurrentDictionary<(string Projection, int Partitions), bool> prepared = new();

    public async Task<IReadOnlySet<int>> BalanceAsync(string projection, int partitions, CancellationToken cancellationToken)
    {
        await EnsureLeaseRowsAsync(projection, partitions, cancellationToken);
        var duration = options.LeaseDuration;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);

        await using (var heartbeat = Command(connection, $"""
            INSERT INTO {schema}.projection_workers (projection, worker, expires_at) VALUES (@projection, @worker, now() + @duration)
            ON CONFLICT (projection, worker) DO UPDATE SET expires_at = excluded.expires_at;
            DELETE FROM {schema}.projection_workers WHERE projection = @projection AND expires_at < now() - interval '1 hour';
            """, ("projection", projection), ("worker", options.WorkerId), ("duration", duration)))
            await heartbeat.ExecuteNonQueryAsync(cancellationToken);

        long live;
        await using (var count = Command(connection,
            $"SELECT count(*) FROM {schema}.projection_workers WHERE projection = @projection AND expires_at > now()",
            ("projection", projection)))
            live = Math.Max(1, (long)(await count.ExecuteScalarAsync(cancellationToken))!);
        var share = (int)Math.Ceiling(partitions / (double)live);

        var owned = await ReadPartsAsync(Command(connection, $"""
            UPDATE {schema}.projection_leases SET expires_at = now() + @duration
            WHERE projection = @projection AND owner = @worker AND partition < @partitions RETURNING partition
            """, ("projection", projection), ("worker", options.WorkerId), ("duration", duration), ("partitions", partitions)),
            cancellationToken);

        if (owned.Count > share)
        {
            var surplus = owned.Order().Skip(share).ToArray();
            await using var release = Command(connection, $"""
                UPDATE {schema}.projection_leases SET owner = NULL, expires_at = '-infinity'
                WHERE projection = @projection AND owner = @worker AND partition = ANY(@surplus)
                """, ("projection", projection), ("worker", options.WorkerId), ("surplus", surplus));
            await release.ExecuteNonQueryAsync(cancellationToken);
            owned.ExceptWith(surplus);
        }
        else if (owned.Count < share)
        {
            owned.UnionWith(await ReadPartsAsync(Command(connection, $"""
                UPDATE {schema}.projection_leases SET owner = @worker, expires_at = now() + @duration
                WHERE (projection, partition) IN (
                    SELECT projection, partition FROM {schema}.projection_leases
                    WHERE projection = @projection AND partition < @partitions AND (owner IS NULL OR expires_at <= now())
                    ORDER BY partition LIMIT @wanted FOR UPDATE SKIP LOCKED)
                RETURNING partition
                """, ("projection", projection), ("worker", options.WorkerId), ("duration", duration),
                ("partitions", partitions), ("wanted", share - owned.Count)), cancellationToken));
        }
        return owned;
    }

    public async Task ReleaseAllAsync(string projection, CancellationToken cancellationToken)
    {
        if (!prepared.Keys.Any(key => key.Projection == projection))
            return;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var release = Command(connection, $"""
            UPDATE {schema}.projection_leases SET owner = NULL, expires_at = '-infinity' WHERE projection = @projection AND owner = @worker;
            DELETE FROM {schema}.projection_workers WHERE projection = @projection AND worker = @worker;
            """, ("projection", projection), ("worker", options.WorkerId));
        await release.ExecuteNonQueryAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        gate.Dispose();
        await dataSource.DisposeAsync();
    }

    /// <summary>Creates the tables if missing and the lease rows of each of <paramref name="projection"/>'s parts, once per projection.</summary>
    private async Task EnsureLeaseRowsAsync(string projection, int partitions, CancellationToken cancellationToken)
    {
        if (prepared.ContainsKey((projection, partitions)))
            return;
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (prepared.ContainsKey((projection, partitions)))
                return;
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            // Several workers start at once: the advisory lock keeps their CREATE IF NOT EXISTS from racing.
            await using var create = Command(connection, $"""
                SELECT pg_advisory_xact_lock(hashtext('agentstack.projection_leases'));
                CREATE SCHEMA IF NOT EXISTS {schema};
                CREATE TABLE IF NOT EXISTS {schema}.projection_leases (
                    projection text NOT NULL,
                    partition integer NOT NULL,
                    owner text,
                    expires_at timestamptz NOT NULL DEFAULT '-infinity',
                    PRIMARY KEY (projection, partition));
                CREATE TABLE IF NOT EXISTS {schema}.projection_workers (
                    projection text NOT NULL,
                    worker text NOT NULL,
                    expires_at timestamptz NOT NULL,
                    PRIMARY KEY (projection, worker));
                INSERT INTO {schema}.projection_leases (projection, partition)
                SELECT @projection, g FROM generate_series(0, @partitions - 1) AS g ON CONFLICT DO NOTHING;
                """, ("projection", projection), ("partitions", partitions));
            await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
            {
                create.Transaction = transaction;
                await create.ExecuteNonQueryAsync(cancellationToken);
                await transaction.CommitAsync(cancellationToken);
            }
            prepared[(projection, partitions)] = true;
        }
        finally
        {
            gate.Release();
        }
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "callers pass the constant SQL of this class over a schema validated as an identifier; every value is a parameter")]
    private static NpgsqlCommand Command(NpgsqlConnection connection, string sql, params (string Name, object Value)[] parameters)
    {
        var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
            command.Parameters.AddWithValue(name, value);
        return command;
    }

    private static async Task<HashSet<int>> ReadPartsAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        await using (command)
        {
            var parts = new HashSet<int>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
                parts.Add(reader.GetInt32(0));
            return parts;
        }
    }
}
