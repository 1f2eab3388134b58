using AgentStack.EventStore.Sqlite;

namespace AgentStack.EventStore.Tests.Sqlite;

/// <summary>
/// The gate the writer shuts before it restarts the WAL (docs/event-store.md, "The WAL's size"): it lets the chunks of
/// the log being read end, starts no other until it opens, and does not wait past its bound for a reader that stays.
/// </summary>
public sealed class when_the_wal_restart_shuts_the_read_gate
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task then_closing_waits_for_the_chunk_being_read_and_no_longer()
    {
        var gate = new LogReadGate();
        gate.Enter(Ct);

        var closing = Task.Run(() => gate.Close(Long), Ct);
        await Task.Delay(200, Ct);
        closing.IsCompleted.ShouldBeFalse();

        gate.Exit();
        using var shut = await closing.WaitAsync(Long, Ct);
        gate.Reading.ShouldBe(0);
    }

    [Fact]
    public async Task then_no_chunk_starts_while_it_is_shut_and_the_next_starts_once_it_opens()
    {
        var gate = new LogReadGate();
        var shut = gate.Close(Long); // nobody reading: at once

        var entering = Task.Run(() => gate.Enter(Ct), Ct);
        await Task.Delay(200, Ct);
        entering.IsCompleted.ShouldBeFalse();
        gate.Reading.ShouldBe(0);

        shut.Dispose();
        await entering.WaitAsync(Long, Ct);
        gate.Reading.ShouldBe(1);
        gate.Exit();
    }

    [Fact]
    public async Task then_a_reader_that_stays_past_the_wait_leaves_it_shut_for_the_restart_and_then_open()
    {
        var gate = new LogReadGate();
        gate.Enter(Ct);

        var shut = await Task.Run(() => gate.Close(TimeSpan.FromMilliseconds(100)), Ct).WaitAsync(Long, Ct);
        gate.Reading.ShouldBe(1); // the restart goes on and SQLite's own wait decides

        shut.Dispose();
        gate.Exit();
        await Task.Run(() => gate.Enter(Ct), Ct).WaitAsync(Long, Ct);
        gate.Reading.ShouldBe(1);
    }
}
