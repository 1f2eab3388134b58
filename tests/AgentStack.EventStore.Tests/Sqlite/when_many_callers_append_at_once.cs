using AgentStack.Events;

namespace AgentStack.EventStore.Tests.Sqlite;

/// <summary>Group commit: concurrent appends share transactions, hence fsyncs. A count, not a timing.</summary>
public sealed class when_many_callers_append_at_once(SqliteDatabaseFolder<when_many_callers_append_at_once> folder)
    : IClassFixture<SqliteDatabaseFolder<when_many_callers_append_at_once>>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task then_a_thousand_single_event_appends_need_far_fewer_commits()
    {
        await using var store = folder.OpenStore();
        var commitsBefore = store.CommitCount;
        var before = await store.GetLastPositionAsync(Ct);

        var results = await Task.WhenAll(Enumerable.Range(0, 1000).Select(i =>
            store.AppendAsync(TestEvents.NewStream($"caller-{i}"), StreamAppend.NoStream, TestEvents.Numbered(1), Ct)));

        results.Select(r => r.LastPosition).Order().ShouldBe(Enumerable.Range(1, 1000).Select(p => before + p));
        var commits = store.CommitCount - commitsBefore;
        commits.ShouldBeGreaterThan(0);
        commits.ShouldBeLessThan(100);
    }

    [Fact]
    public async Task then_a_stale_caller_in_a_group_fails_alone()
    {
        await using var store = folder.OpenStore();
        var contested = TestEvents.NewStream("contested");
        await store.AppendAsync(contested, StreamAppend.NoStream, TestEvents.Numbered(1), Ct);

        // Queued together, so the writer very likely commits them in one group; either way only the
        // stale caller may fail.
        var good = Enumerable.Range(0, 50).Select(i =>
            store.AppendAsync(TestEvents.NewStream($"good-{i}"), StreamAppend.NoStream, TestEvents.Numbered(2), Ct)).ToArray();
        var stale = store.AppendAsync(contested, StreamAppend.NoStream, TestEvents.Numbered(1, "stale"), Ct);
        var more = store.AppendAsync(contested, 1, TestEvents.Numbered(1, "fresh"), Ct);

        await Should.ThrowAsync<WrongExpectedVersionException>(() => stale);
        (await Task.WhenAll(good)).ShouldAllBe(r => r.NextVersions[0] == 2);
        (await more).NextVersions.ShouldBe([2L]);
        var events = await store.ReadStream(contested);
        events.Select(e => e.Text()).ShouldNotContain(t => t.Contains("stale"));
        EventHash.Verify(events).ShouldBeNull();
    }

    [Fact]
    public async Task then_a_stale_call_in_a_group_leaves_the_streams_it_named_for_the_calls_after_it()
    {
        await using var store = folder.OpenStore();
        var existing = TestEvents.NewStream("named-existing");
        var fresh = TestEvents.NewStream("named-fresh");
        await store.AppendAsync(existing, StreamAppend.NoStream, TestEvents.Numbered(1), Ct);

        // Queued together: the stale call names a fresh stream first, then fails on the existing one; the calls
        // after it in the group must see both streams as the log has them, not as the refused call would have left them.
        var stale = store.AppendAsync(
        [
            new StreamAppend(fresh, StreamAppend.NoStream, TestEvents.Numbered(2, "stale")),
            new StreamAppend(existing, StreamAppend.NoStream, TestEvents.Numbered(1, "stale")),
        ], Ct);
        var freshAfter = store.AppendAsync(fresh, StreamAppend.NoStream, TestEvents.Numbered(1, "after"), Ct);
        var existingAfter = store.AppendAsync(existing, 1, TestEvents.Numbered(1, "after"), Ct);

        await Should.ThrowAsync<WrongExpectedVersionException>(() => stale);
        (await freshAfter).NextVersions.ShouldBe([1L]);
        (await existingAfter).NextVersions.ShouldBe([2L]);
        foreach (var stream in new[] { fresh, existing })
        {
            var events = await store.ReadStream(stream);
            events.Select(e => e.Text()).ShouldNotContain(t => t.Contains("stale"));
            EventHash.Verify(events).ShouldBeNull();
        }
    }
}
