namespace AgentStack.EventStore.Sqlite;

/// <summary>
/// Holds this store's own reads of the log back while the writer restarts the WAL. A restart needs every read
/// transaction that began before its checkpoint to have ended (docs/event-store.md, "The WAL's size"); the projections
/// read the log one chunk after another (<see cref="SqliteLogReader"/>), so without a pause between them the restart's
/// wait seldom found a moment with none in progress, was refused, and the WAL grew on into pages it had never had.
/// Closed, the gate lets the chunks in progress end and starts no other until the restart is done. Other processes
/// reading the file, and this store's short single-statement reads, are not held: the restart waits for them as before.
/// </summary>
internal sealed class LogReadGate
{
    private int reading;
    private TaskCompletionSource? closed;

    /// <summary>Chunks of the log being read now: a diagnostic.</summary>
    public int Reading => Volatile.Read(ref reading);

    /// <summary>Waits while the gate is closed, then counts one read transaction in; <see cref="Exit"/> counts it out.</summary>
    public void Enter(CancellationToken cancellationToken)
    {
        while (true)
        {
            // Counted in before the gate is looked at, as Close shuts it before it counts: one of the two sees the other.
            Interlocked.Increment(ref reading);
            var shut = Volatile.Read(ref closed);
            if (shut is null)
                return;
            Interlocked.Decrement(ref reading);
            shut.Task.Wait(cancellationToken);
        }
    }

    public void Exit() => Interlocked.Decrement(ref reading);

    /// <summary>
    /// Shuts the gate and waits up to <paramref name="wait"/> for the reads in progress to end; the gate opens again when
    /// the result is disposed. One caller at a time: the writer's thread.
    /// </summary>
    public Shut Close(TimeSpan wait)
    {
        var shut = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Interlocked.Exchange(ref closed, shut);
        var until = Environment.TickCount64 + (long)wait.TotalMilliseconds;
        while (Volatile.Read(ref reading) > 0 && Environment.TickCount64 < until)
            Thread.Sleep(1);
        return new Shut(this, shut);
    }

    public readonly struct Shut(LogReadGate gate, TaskCompletionSource shut) : IDisposable
    {
        public void Dispose()
        {
            Interlocked.CompareExchange(ref gate.closed, null, shut);
            shut.TrySetResult();
        }
    }
}
