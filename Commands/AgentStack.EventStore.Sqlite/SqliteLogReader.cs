using System.Text;
using AgentStack.Events;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace AgentStack.EventStore.Sqlite;

/// <summary>
/// Reads of the whole log on SQLite's own statement, as the writer inserts (<see cref="SqliteWriter"/>): each row's
/// columns are read from SQLite's buffers, its data handed to a decoder as a span (<see cref="IDecodingLogReader"/>), so
/// a sealed payload is opened from the page it was read into rather than from a copy, and the strings neighbouring rows
/// repeat are made once: a trace's events are stored side by side, each with its stream's name, and each names the
/// hash of the event before it in its stream, most often the row just read (docs/event-store.md, "Reading the log").
/// </summary>
internal static class SqliteLogReader
{
    private const int CancellationCheckRows = 256;

    /// <summary>Most rows one read transaction reads: about 2 MB of sealed spans, a few milliseconds opened.</summary>
    internal const int ChunkRows = 1024;

    // The rows of a read as they come, kept by the thread for its next read: grown by doubling, a list of 10,000 events
    // passed 85,000 bytes and went to the large object heap with every read; the read's result is an array of its size.
    [ThreadStatic]
    private static List<StoredEvent>? rows;

    public static StoredEvent[] Read(SqliteConnection connection, string sql, long afterPosition, int maxCount,
        TimeSpan busyTimeout, StoredDataDecoder decode, LogReadGate gate, CancellationToken cancellationToken)
    {
        var handle = connection.Handle!;
        // Microsoft.Data.Sqlite retries a busy statement of its own commands; this one is SQLite's, which waits as long.
        Check(raw.sqlite3_busy_timeout(handle, (int)Math.Clamp(busyTimeout.TotalMilliseconds, 0, int.MaxValue)), handle);
        Check(raw.sqlite3_prepare_v2(handle, sql, out var statement), handle);
        var events = rows ??= new List<StoredEvent>(1024);
        try
        {
            var after = raw.sqlite3_bind_parameter_index(statement, "$after");
            var limit = raw.sqlite3_bind_parameter_index(statement, "$limit");
            var stream = new LastString();
            var hash = new LastString();
            var types = new KnownStrings();
            // A read of many events runs as several statements, each its own read transaction of at most ChunkRows
            // rows, let in by the gate: a transaction holds its snapshot of the WAL until it ends, and the writer's
            // restart of the WAL waits for every one older than its checkpoint (docs/event-store.md, "The WAL's size").
            // The log only grows at its end, so the chunks read one after another are the rows one statement would read.
            var position = afterPosition;
            while (events.Count < maxCount)
            {
                var wanted = Math.Min(ChunkRows, maxCount - events.Count);
                var before = events.Count;
                gate.Enter(cancellationToken);
                try
                {
                    Check(raw.sqlite3_bind_int64(statement, after, position), handle);
                    Check(raw.sqlite3_bind_int64(statement, limit, wanted), handle);
                    int result;
                    while ((result = raw.sqlite3_step(statement)) == raw.SQLITE_ROW)
                    {
                        var type = types.Get(raw.sqlite3_column_blob(statement, 3));
                        // The previous hash first: the row before may be this one's predecessor, whose hash is still held.
                        var prevHashBytes = raw.sqlite3_column_blob(statement, 7);
                        var prevHash = hash.Matches(prevHashBytes) ? hash.Value! : Encoding.UTF8.GetString(prevHashBytes);
                        events.Add(new StoredEvent(
                            Position: raw.sqlite3_column_int64(statement, 0),
                            Stream: stream.Get(raw.sqlite3_column_blob(statement, 1)),
                            Version: raw.sqlite3_column_int64(statement, 2),
                            Type: type,
                            RecordedAt: EventHash.FromUnixMicroseconds(raw.sqlite3_column_int64(statement, 4)),
                            Data: decode(type, raw.sqlite3_column_blob(statement, 5)),
                            Hash: hash.Get(raw.sqlite3_column_blob(statement, 6)),
                            PrevHash: prevHash));
                        if (events.Count % CancellationCheckRows == 0)
                            cancellationToken.ThrowIfCancellationRequested();
                    }
                    if (result != raw.SQLITE_DONE)
                        SqliteException.ThrowExceptionForRC(result, handle);
                }
                finally
                {
                    // Reset ends the statement's read transaction (the connection is in autocommit).
                    raw.sqlite3_reset(statement);
                    gate.Exit();
                }
                if (events.Count - before < wanted)
                    break; // the log's end
                position = events[^1].Position;
            }
            return [.. events];
        }
        finally
        {
            events.Clear(); // the thread's list must not keep a read's events alive
            statement.Dispose();
        }
    }

    private static void Check(int result, sqlite3 handle)
    {
        if (result != raw.SQLITE_OK)
            SqliteException.ThrowExceptionForRC(result, handle);
    }

    /// <summary>The string of the last UTF-8 bytes given, made again only when the bytes differ.</summary>
    private sealed class LastString
    {
        private byte[] bytes = new byte[128];
        private int length;

        public string? Value { get; private set; }

        public bool Matches(ReadOnlySpan<byte> utf8) => Value is not null && utf8.SequenceEqual(bytes.AsSpan(0, length));

        public string Get(ReadOnlySpan<byte> utf8)
        {
            if (Matches(utf8))
                return Value!;
            if (utf8.Length > bytes.Length)
                bytes = new byte[utf8.Length];
            utf8.CopyTo(bytes);
            length = utf8.Length;
            return Value = Encoding.UTF8.GetString(utf8);
        }
    }

    /// <summary>A read's event types: a handful of names, each made once per read.</summary>
    private sealed class KnownStrings
    {
        private readonly List<(byte[] Utf8, string Value)> known = [];

        public string Get(ReadOnlySpan<byte> utf8)
        {
            foreach (var (bytes, value) in known)
            {
                if (utf8.SequenceEqual(bytes))
                    return value;
            }
            var made = Encoding.UTF8.GetString(utf8);
            known.Add((utf8.ToArray(), made));
            return made;
        }
    }
}
