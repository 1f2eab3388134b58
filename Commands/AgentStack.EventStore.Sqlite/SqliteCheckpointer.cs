using AgentStack.EventStore.Common;
using Microsoft.Data.Sqlite;

namespace AgentStack.EventStore.Sqlite;

/// <summary>
/// Copies the WAL back into <c>events.db</c> on a thread of its own, so the writer's commits do not. SQLite's own
/// checkpoints run on the committing connection right after a commit, every 1,000 pages; on the log's one serial stage
/// that copy (a read of the WAL, a write of the file and the file's fsync) was about half of what the writer thread
/// wrote at the peak and all that it read (docs/event-store.md, "Checkpoints off the writer"). The writer's connection
/// runs with <c>wal_autocheckpoint=0</c>; this thread, at the writer's priority, runs a PASSIVE checkpoint once new
/// commits have come, at most once an <see cref="Interval"/>. PASSIVE takes no lock a writer or reader waits on and
/// copies what no reader still needs; the writer's RESTART past the WAL's size bound is unchanged. A checkpoint that
/// fails (a RESTART holding the checkpoint lock, a full disk) is tried again after the next commits: the WAL keeps every
/// committed frame meanwhile. After each checkpoint the page cache behind the file's last
/// <see cref="SqliteEventStoreOptions.CachedTail"/> bytes is handed back (<see cref="PageCacheDropBehind"/>).
/// </summary>
internal sealed class SqliteCheckpointer : IDisposable
{
    /// <summary>Least time between two checkpoints: at the peak the WAL grows by about 100 MB/s, so each copies a few dozen MB.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(200);

    private readonly string connectionString;
    private readonly GroupCommitQueue queue;
    private readonly PageCacheDropBehind? dropBehind;
    private readonly CancellationTokenSource stopping = new();
    private readonly int priority;
    private readonly Thread thread;
    private long checkpoints, failures;

    // The thread's own; kept open so SQLite's descriptor of the file stays the same between checkpoints.
    private SqliteConnection? connection;

    /// <param name="path">The database file's full path, as in <paramref name="connectionString"/>.</param>
    /// <param name="priority">Nice steps above the process's priority, as the writer's (<see cref="SqliteEventStoreOptions.WriterPriority"/>).</param>
    /// <param name="cachedTail">Bytes at the file's end left in the page cache, null to leave it all (<see cref="SqliteEventStoreOptions.CachedTail"/>).</param>
    public SqliteCheckpointer(string connectionString, string path, GroupCommitQueue queue, int priority, long? cachedTail)
    {
        this.connectionString = connectionString;
        this.queue = queue;
        this.priority = priority;
        if (cachedTail is { } tail)
            dropBehind = new PageCacheDropBehind(path, tail);
        using var started = new ManualResetEventSlim();
        thread = new Thread(() => Run(started)) { IsBackground = true, Name = "eventstore-ckpt" };
        thread.Start();
        started.Wait();
    }

    /// <summary>The thread's nice value as it read it once set (null where there are none): a diagnostic.</summary>
    public int? Nice { get; private set; }

    /// <summary>Checkpoints run, and those that failed: diagnostics.</summary>
    public (long Done, long Failed) Checkpoints => (Interlocked.Read(ref checkpoints), Interlocked.Read(ref failures));

    /// <summary>How far from the file's start its pages have been dropped from the page cache: a diagnostic.</summary>
    public long PageCacheDroppedTo => dropBehind?.DroppedTo ?? 0;

    private void Run(ManualResetEventSlim started)
    {
        // The writer's priority, silently where it is refused: the writer's own thread has said so on standard error.
        if (priority > 0)
            ThreadNice.TrySetFromProcess(-priority);
        Nice = ThreadNice.Current();
        started.Set();
        var token = stopping.Token;
        var checkpointed = queue.LastPosition;
        try
        {
            while (true)
            {
                queue.WaitForPositionAfterAsync(checkpointed, token).GetAwaiter().GetResult();
                checkpointed = queue.LastPosition;
                Checkpoint();
                token.WaitHandle.WaitOne(Interval);
                token.ThrowIfCancellationRequested();
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Disposed: the last connection to close checkpoints what is left.
        }
        finally
        {
            connection?.Dispose();
        }
    }

    private void Checkpoint()
    {
        try
        {
            if (connection is null)
            {
                connection = new SqliteConnection(connectionString);
                connection.Open();
            }
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA wal_checkpoint(PASSIVE)";
            command.ExecuteNonQuery();
            Interlocked.Increment(ref checkpoints);
            dropBehind?.AfterCheckpoint(connection);
        }
        catch (SqliteException)
        {
            // SQLITE_BUSY while the writer restarts the WAL, or an I/O error the writer's next commit reports too; the
            // next checkpoint opens a connection afresh.
            Interlocked.Increment(ref failures);
            connection?.Dispose();
            connection = null;
        }
    }

    /// <summary>Stops the thread, waiting for a checkpoint in progress to end.</summary>
    public void Dispose()
    {
        stopping.Cancel();
        thread.Join();
        stopping.Dispose();
    }
}
