using System.Data.Common;
using AgentStack.Events;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace AgentStack.Audit.Tests;

/// <summary>A stored row of the events table, as an attacker with database access reads it.</summary>
public sealed record EventRow(long Position, string Stream, long Version, string Type, DateTimeOffset RecordedAt, byte[] Data,
    string Hash, string PrevHash);

/// <summary>
/// Changes the events table with raw SQL after switching off its append-only triggers, as an attacker
/// with access to the database would (issue 14, acceptance). One subclass per real store.
/// </summary>
public abstract class Tampering
{
    protected abstract Task<DbConnection> OpenAsync();
    protected abstract string Table { get; }
    protected abstract string DisableTriggers { get; }
    protected abstract string P(string name);
    protected abstract DateTimeOffset FromColumn(DbDataReader r, int i);

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "test SQL over the test's own table name; the stream is a parameter")]
    public async Task<List<EventRow>> ReadStreamAsync(string stream)
    {
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT position, stream, version, type, recorded_at, data, hash, prev_hash FROM {Table} WHERE stream = {P("s")} ORDER BY version";
        Add(command, "s", stream);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<EventRow>();
        while (await reader.ReadAsync())
            rows.Add(new EventRow(reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2), reader.GetString(3), FromColumn(reader, 4),
                (byte[])reader.GetValue(5), reader.GetString(6), reader.GetString(7)));
        return rows;
    }

    /// <summary>Flips the case of one letter of the payload of <paramref name="version"/>.</summary>
    public async Task EditOneByteAsync(string stream, long version)
    {
        var row = (await ReadStreamAsync(stream)).Single(r => r.Version == version);
        await ExecuteAsync($"UPDATE {Table} SET data = {P("d")} WHERE position = {P("p")}", ("d", FlipOneLetter(row.Data)), ("p", row.Position));
    }

    public Task DeleteEventAsync(string stream, long version) =>
        ExecuteAsync($"DELETE FROM {Table} WHERE stream = {P("s")} AND version = {P("v")}", ("s", stream), ("v", version));

    /// <summary>Exchanges the versions of two events, so a reader of the stream sees them in the other order.</summary>
    public Task SwapAsync(string stream, long a, long b) => ExecuteAsync($"""
        UPDATE {Table} SET version = -1 WHERE stream = {P("s")} AND version = {P("a")};
        UPDATE {Table} SET version = {P("a")} WHERE stream = {P("s")} AND version = {P("b")};
        UPDATE {Table} SET version = {P("b")} WHERE stream = {P("s")} AND version = -1;
        """, ("s", stream), ("a", a), ("b", b));

    public Task TruncateAsync(string stream, long fromVersion) =>
        ExecuteAsync($"DELETE FROM {Table} WHERE stream = {P("s")} AND version >= {P("v")}", ("s", stream), ("v", fromVersion));

    public Task DeleteStreamAsync(string stream) => ExecuteAsync($"DELETE FROM {Table} WHERE stream = {P("s")}", ("s", stream));

    /// <summary>Edits <paramref name="fromVersion"/> and recomputes its hash and every later one: the chain is intact again.</summary>
    public async Task RewriteConsistentlyAsync(string stream, long fromVersion)
    {
        var rows = await ReadStreamAsync(stream);
        var prev = rows.Single(r => r.Version == fromVersion).PrevHash;
        foreach (var row in rows.Where(r => r.Version >= fromVersion))
        {
            var data = row.Version == fromVersion ? FlipOneLetter(row.Data) : row.Data;
            var hash = EventHash.Compute(prev, row.Stream, row.Version, row.Type, row.RecordedAt, data);
            await ExecuteAsync($"UPDATE {Table} SET data = {P("d")}, hash = {P("h")}, prev_hash = {P("ph")} WHERE position = {P("p")}",
                ("d", data), ("h", hash), ("ph", prev), ("p", row.Position));
            prev = hash;
        }
    }

    private static byte[] FlipOneLetter(byte[] data)
    {
        var copy = data.ToArray();
        var i = Array.FindIndex(copy, 10, b => b is >= (byte)'a' and <= (byte)'z');
        copy[i] ^= 0x20;
        return copy;
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "the tampering SQL of the test itself (an edit behind the store's back is what the test proves is found)")]
    private async Task ExecuteAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = await OpenAsync();
        await using (var disable = connection.CreateCommand())
        {
            disable.CommandText = DisableTriggers;
            await disable.ExecuteNonQueryAsync();
        }
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters) Add(command, name, value);
        await command.ExecuteNonQueryAsync();
    }

    private void Add(DbCommand command, string name, object value)
    {
        var p = command.CreateParameter();
        p.ParameterName = P(name);
        p.Value = value;
        command.Parameters.Add(p);
    }
}

public sealed class SqliteTampering(string databasePath) : Tampering
{
    protected override string Table => "events";
    protected override string DisableTriggers => "DROP TRIGGER IF EXISTS events_are_never_updated; DROP TRIGGER IF EXISTS events_are_never_deleted;";
    protected override string P(string name) => "$" + name;
    protected override DateTimeOffset FromColumn(DbDataReader r, int i) => EventHash.FromUnixMicroseconds(r.GetInt64(i));

    protected override async Task<DbConnection> OpenAsync()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = false, DefaultTimeout = 10 }.ToString());
        await connection.OpenAsync();
        return connection;
    }
}

public sealed class PostgresTampering(string connectionString, string schema) : Tampering
{
    protected override string Table => $"{schema}.events";
    protected override string DisableTriggers => $"ALTER TABLE {schema}.events DISABLE TRIGGER USER;";
    protected override string P(string name) => "@" + name;
    protected override DateTimeOffset FromColumn(DbDataReader r, int i) => new(r.GetFieldValue<DateTime>(i), TimeSpan.Zero);

    protected override async Task<DbConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        return connection;
    }
}
