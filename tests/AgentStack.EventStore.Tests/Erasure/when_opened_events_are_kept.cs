using AgentStack.Erasure.Keys;
using AgentStack.Erasure.Sealing;
using AgentStack.Events;

namespace AgentStack.EventStore.Tests.Erasure;

/// <summary>
/// The rings of opened events the projections share (<see cref="OpenedEvents"/>). The tail's keeps the last positions it
/// has seen: a read near the tail is kept for the runners behind it, a read far behind (a rebuild from 0) does not push
/// the tail out. The other keeps the latest reads wherever they are.
/// </summary>
public sealed class when_opened_events_are_kept : IClassFixture<SqliteDatabaseFolder<when_opened_events_are_kept>>
{
    private const int Capacity = 8;

    private readonly SubjectKeyring keys;

    public when_opened_events_are_kept(SqliteDatabaseFolder<when_opened_events_are_kept> folder) =>
        keys = new SubjectKeyring(new SqliteSubjectKeyStore(Path.Combine(folder.Path, $"{Guid.NewGuid():N}-keys.db"), KeyWrapping.None),
            TimeSpan.FromMinutes(1));

    private static List<StoredEvent> Events(long from, long to) =>
        [.. Enumerable.Range((int)from, (int)(to - from + 1)).Select(p => new StoredEvent(p, "s", p, "test.numbered.v1",
            DateTimeOffset.UnixEpoch, [], new string('a', 64), new string('b', 64)))];

    [Fact]
    public void then_a_read_far_behind_the_tail_leaves_the_tail_in_place()
    {
        var ring = new OpenedEvents(keys, Capacity);
        ring.Add(Events(21, 28), keys.Generation);

        ring.Add(Events(1, 8), keys.Generation);

        ring.Read(20, Capacity).Select(e => e.Position).ShouldBe([21L, 22, 23, 24, 25, 26, 27, 28]);
        ring.Read(0, Capacity).ShouldBeEmpty();
    }

    [Fact]
    public void then_a_read_within_the_last_positions_seen_is_kept_for_the_readers_behind()
    {
        var ring = new OpenedEvents(keys, Capacity);
        ring.Add(Events(21, 28), keys.Generation);

        ring.Add(Events(23, 26), keys.Generation);

        ring.Read(22, Capacity).Select(e => e.Position).ShouldBe([23L, 24, 25, 26, 27, 28]);
    }

    [Fact]
    public void then_events_appended_one_by_one_move_the_window_on()
    {
        var ring = new OpenedEvents(keys, Capacity);
        foreach (var e in Events(1, 12))
            ring.Add(e, keys.Generation);

        ring.Read(4, Capacity).Select(e => e.Position).ShouldBe([5L, 6, 7, 8, 9, 10, 11, 12]);
        ring.Read(0, Capacity).ShouldBeEmpty();
        ring.Add(Events(3, 4), keys.Generation);
        ring.Read(4, Capacity).Select(e => e.Position).ShouldBe([5L, 6, 7, 8, 9, 10, 11, 12]);
    }

    [Fact]
    public void then_a_ring_that_does_not_follow_the_tail_keeps_the_latest_read_wherever_it_is()
    {
        var ring = new OpenedEvents(keys, Capacity, followsTail: false);
        ring.Add(Events(21, 28), keys.Generation);

        ring.Add(Events(1, 8), keys.Generation);

        ring.Read(0, Capacity).Select(e => e.Position).ShouldBe([1L, 2, 3, 4, 5, 6, 7, 8]);
        ring.Read(20, Capacity).ShouldBeEmpty();
    }
}
