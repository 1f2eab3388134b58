using AgentStack.Events;

namespace AgentStack.EventStore.Sqlite;

internal static class SqliteSchema
{
    // AUTOINCREMENT (not a bare rowid) so a position is never reused, even if the last rows of a
    // rolled-back batch had taken it. UNIQUE(stream, version) is both the optimistic-concurrency
    // backstop and the index the writer seeks (descending) for a stream's head.
    // The triggers make invariant 3 hold for any SQL run through a connection to this file, not
    // only for this API (docs/architecture.md: events are never updated or deleted).
    public const string Create = """
        CREATE TABLE IF NOT EXISTS events (
            position    INTEGER PRIMARY KEY AUTOINCREMENT,
            stream      TEXT    NOT NULL,
            version     INTEGER NOT NULL,
            type        TEXT    NOT NULL,
            recorded_at INTEGER NOT NULL,
            data        BLOB    NOT NULL,
            hash        TEXT    NOT NULL,
            prev_hash   TEXT    NOT NULL,
            UNIQUE (stream, version)
        );
        CREATE TRIGGER IF NOT EXISTS events_are_never_updated BEFORE UPDATE ON events
        BEGIN
            SELECT RAISE(ABORT, 'events are append-only: UPDATE is not allowed');
        END;
        CREATE TRIGGER IF NOT EXISTS events_are_never_deleted BEFORE DELETE ON events
        BEGIN
            SELECT RAISE(ABORT, 'events are append-only: DELETE is not allowed');
        END;
        """;

    public const string Columns = $"{ColumnsBeforeData}, data, {ColumnsAfterData}";

    private const string ColumnsBeforeData = "position, stream, version, type, recorded_at";
    private const string ColumnsAfterData = "hash, prev_hash";

    public const string SelectHead =
        "SELECT version, hash FROM events WHERE stream = $stream ORDER BY version DESC LIMIT 1";

    /// <summary>Parameters by number, as the writer binds them; the position taken is the row id (<c>sqlite3_last_insert_rowid</c>).</summary>
    public const string Insert = """
        INSERT INTO events (stream, version, type, recorded_at, data, hash, prev_hash)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
        """;

    public const string SelectStream =
        $"SELECT {Columns} FROM events WHERE stream = $stream AND version >= $from ORDER BY version LIMIT $limit";

    // The streams come as one JSON array: one statement whatever their number, each looked up on the index.
    public const string SelectVersions =
        "SELECT stream, MAX(version) FROM events WHERE stream IN (SELECT value FROM json_each($streams)) GROUP BY stream";

    public const string SelectAll =
        $"SELECT {Columns} FROM events WHERE position > $after ORDER BY position LIMIT $limit";

    /// <summary>
    /// <see cref="SelectAll"/> with the data of some events left out: SQLite reads a column only when the statement
    /// evaluates it, so a payload left out is not read from its pages either.
    /// </summary>
    public static string SelectAllWith(EventDataScope data) => data switch
    {
        EventDataScope.All => SelectAll,
        EventDataScope.AllButSpans => SelectAllButSpanData,
        EventDataScope.None => SelectAllWithoutData,
        _ => throw new ArgumentOutOfRangeException(nameof(data), data, null),
    };

    private const string SelectAllButSpanData = $"SELECT {ColumnsBeforeData}, CASE WHEN type IN ('{EventTypes.SpanStarted}', " +
        $"'{EventTypes.SpanCompleted}') THEN X'' ELSE data END, {ColumnsAfterData} FROM events WHERE position > $after ORDER BY position LIMIT $limit";

    private const string SelectAllWithoutData =
        $"SELECT {ColumnsBeforeData}, X'', {ColumnsAfterData} FROM events WHERE position > $after ORDER BY position LIMIT $limit";

    public const string SelectLastPosition = "SELECT COALESCE(MAX(position), 0) FROM events";
}
