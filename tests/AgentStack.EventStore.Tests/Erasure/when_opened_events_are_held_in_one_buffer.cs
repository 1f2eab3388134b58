using AgentStack.Erasure.Keys;
using AgentStack.Erasure.Sealing;
using AgentStack.Events;

namespace AgentStack.EventStore.Tests.Erasure;

/// <summary>
/// The ring of opened events keeps their data in one buffer written round and round (<see cref="OpenedEvents"/>): each
/// reader gets a copy of exactly what was kept, an event whose bytes were written over is a gap, never another event's
/// bytes, and an erasure leaves nothing served. With the real SQLite key store behind the keyring.
/// </summary>
public sealed class when_opened_events_are_held_in_one_buffer : IClassFixture<SqliteDatabaseFolder<when_opened_events_are_held_in_one_buffer>>
{
    private readonly SqliteDatabaseFolder<when_opened_events_are_held_in_one_buffer> folder;

    public when_opened_events_are_held_in_one_buffer(SqliteDatabaseFolder<when_opened_events_are_held_in_one_buffer> folder) => this.folder = folder;

    private SubjectKeyring Keys(string name) => SealedLogs.Open(folder.Path, name).Keys;

    /// <summary>Data of <paramref name="length"/> bytes that only this position has.</summary>
    private static byte[] DataOf(long position, int length)
    {
        var data = new byte[length];
        for (var i = 0; i < length; i++)
            data[i] = (byte)(position * 31 + i);
        return data;
    }

    private static StoredEvent Event(long position, byte[] data, string type = EventTypes.SpanCompleted) =>
        new(position, $"trace-p1-t{position}", 1, type, SealedLogs.Start, data, new string('a', 64), new string('0', 64));

    [Fact]
    public void then_each_reader_gets_a_copy_of_exactly_the_bytes_kept()
    {
        var opened = new OpenedEvents(Keys("copies"), capacity: 16, bufferBytes: 4096);
        var kept = Enumerable.Range(1, 3).Select(p => DataOf(p, 100 + p)).ToArray();
        for (var p = 1; p <= 3; p++)
            opened.Add(Event(p, kept[p - 1]), 0);

        var first = opened.Read(0, 10);
        var second = opened.Read(0, 10);

        first.Select(e => e.Position).ShouldBe([1L, 2L, 3L]);
        for (var i = 0; i < 3; i++)
        {
            first[i].Data.ShouldBe(kept[i]);
            first[i].Data.ShouldNotBeSameAs(kept[i]);
            second[i].Data.ShouldNotBeSameAs(first[i].Data);
            (first[i] with { Data = [] }).ShouldBe(Event(i + 1, []));
        }
        first[0].Data[0] ^= 0xFF; // a reader that writes into its copy changes nothing another reads
        opened.Read(0, 1)[0].Data.ShouldBe(kept[0]);
        opened.Read(1, 1).Single().Position.ShouldBe(2);
    }

    [Fact]
    public void then_an_event_whose_bytes_were_written_over_is_a_gap()
    {
        // 200 bytes an event: 20 fill 4,000 bytes of the 4,096, the 21st starts the buffer again (the 96 left are skipped).
        var opened = new OpenedEvents(Keys("over"), capacity: 64, bufferBytes: 4096);
        for (var p = 1; p <= 40; p++)
            opened.Add(Event(p, DataOf(p, 200)), 0);

        opened.Read(0, 100).ShouldBeEmpty();
        opened.Read(19, 100).ShouldBeEmpty(); // position 20's bytes are under position 40's
        var held = opened.Read(20, 100);
        held.Select(e => e.Position).ShouldBe(Enumerable.Range(21, 20).Select(p => (long)p));
        foreach (var e in held)
            e.Data.ShouldBe(DataOf(e.Position, 200));
    }

    [Fact]
    public void then_data_too_large_for_the_buffer_to_hold_many_of_is_kept_with_its_event()
    {
        var opened = new OpenedEvents(Keys("large"), capacity: 64, bufferBytes: 4096);
        var large = DataOf(1, 1000); // over a sixteenth of the buffer
        opened.Add(Event(1, large), 0);
        for (var p = 2; p <= 60; p++)
            opened.Add(Event(p, DataOf(p, 100)), 0); // 5,900 bytes through the buffer

        opened.Read(0, 1).Single().Data.ShouldBe(large);
    }

    [Fact]
    public void then_a_scope_gives_empty_the_data_it_leaves_out()
    {
        var opened = new OpenedEvents(Keys("scopes"), capacity: 16, bufferBytes: 4096);
        var span = DataOf(1, 120);
        var other = DataOf(2, 80);
        opened.Add(Event(1, span), 0);
        opened.Add(Event(2, other, EventTypes.DetectionRecorded), 0);

        string[] Read(EventDataScope scope) => [.. opened.Read(0, 10, scope).Select(e => Convert.ToHexString(e.Data))];
        Read(EventDataScope.All).ShouldBe([Convert.ToHexString(span), Convert.ToHexString(other)]);
        Read(EventDataScope.AllButSpans).ShouldBe(["", Convert.ToHexString(other)]);
        Read(EventDataScope.None).ShouldBe(["", ""]);
    }

    [Fact]
    public void then_nothing_kept_before_an_erasure_is_served_after_it_and_what_follows_is()
    {
        var keys = Keys("erasure");
        var opened = new OpenedEvents(keys, capacity: 16, bufferBytes: 4096);
        opened.Add(Event(1, DataOf(1, 300)), keys.Generation);
        opened.Add(Event(2, DataOf(2, 30)), keys.Generation);

        var before = keys.Generation;
        keys.Erase("p1", "someone");

        opened.Read(0, 10).ShouldBeEmpty();
        opened.Read(1, 10).ShouldBeEmpty();
        opened.Add(Event(3, DataOf(3, 40)), before); // opened before the erasure, kept after it
        opened.Read(2, 10).ShouldBeEmpty();
        opened.Add(Event(4, DataOf(4, 50)), keys.Generation);
        opened.Read(3, 10).Single().Data.ShouldBe(DataOf(4, 50));
    }

    /// <summary>
    /// A writer goes round a small buffer many times while readers copy from just behind it: every event a reader is
    /// given has exactly its own bytes. Without the check after the copy, readers take bytes written over mid-copy.
    /// </summary>
    [Fact]
    public void then_readers_racing_the_writer_never_take_another_events_bytes()
    {
        var opened = new OpenedEvents(Keys("race"), capacity: 512, bufferBytes: 16 << 10);
        const int Events = 300_000;
        long last = 0;
        var wrong = 0;
        var served = 0L;
        var writer = new Thread(() =>
        {
            for (var p = 1; p <= Events; p++)
            {
                opened.Add(Event(p, DataOf(p, 40 + p % 200)), 0);
                Volatile.Write(ref last, p);
            }
        });
        // About 115 events fill the buffer: the readers copy from 60 to 140 events behind the writer, where it writes next.
        var readers = Enumerable.Range(0, 3).Select(r => new Thread(() =>
        {
            while (Volatile.Read(ref last) < Events)
            {
                var from = Math.Max(0, Volatile.Read(ref last) - 60 - r * 40);
                foreach (var e in opened.Read(from, 64))
                {
                    Interlocked.Increment(ref served);
                    if (!e.Data.AsSpan().SequenceEqual(DataOf(e.Position, 40 + (int)(e.Position % 200))))
                        Interlocked.Increment(ref wrong);
                }
            }
        })).ToArray();

        writer.Start();
        foreach (var reader in readers) reader.Start();
        writer.Join();
        foreach (var reader in readers) reader.Join();

        wrong.ShouldBe(0);
        served.ShouldBeGreaterThan(1000); // the readers did read from behind the writer
    }
}
