using System.Text;
using AgentStack.Events;

namespace AgentStack.EventStore.Tests;

/// <summary>
/// What every <see cref="IEventStore"/> adapter must do, run unchanged against each one. A derived
/// class gives a store over a database reset for its test class; tests of one class share that
/// database, so each test writes its own streams and reads positions relative to the log's end.
/// </summary>
public abstract class EventStoreContract : IAsyncLifetime
{
    private IEventStore? store;

    protected IEventStore Store => store ?? throw new InvalidOperationException("The store is created in InitializeAsync.");

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A store for one test, over the database this test class shares.</summary>
    protected abstract ValueTask<IEventStore> CreateStoreAsync();

    public async ValueTask InitializeAsync() => store = await CreateStoreAsync();

    private static ValueTask CloseAsync(IEventStore other) =>
        other is IAsyncDisposable disposable ? disposable.DisposeAsync() : ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        // Releases the store's connections; the data stays until the next run resets it.
        if (store is IAsyncDisposable disposable) await disposable.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task when_appending_to_a_new_stream_then_the_data_reads_back_byte_for_byte()
    {
        // A stream name beyond ASCII too: names are stored as UTF-8 text.
        var stream = TestEvents.NewStream("bytes-caf\u00e9-\u2603");
        // Odd spacing, key order, escapes and non-ASCII: a store that re-serialises JSON would change them.
        byte[] data = [.. Encoding.UTF8.GetBytes("{ \"b\":1,   \"a\" : \"caf\u00e9 \\u00e9 \u2603 \ud83d\ude80\",\n\"z\":[ ] }")];
        byte[] other = [.. "[1,2.50,1e3]"u8];

        await Store.AppendAsync(stream, StreamAppend.NoStream,
            [new EventData("test.bytes.v1", data), new EventData("test.other.v1", other), new EventData("test.empty.v1", [])], Ct);

        var events = await Store.ReadStream(stream);
        events.Count.ShouldBe(3);
        events[0].Data.ShouldBe(data);
        events[0].Type.ShouldBe("test.bytes.v1");
        events[1].Data.ShouldBe(other);
        events[1].Type.ShouldBe("test.other.v1");
        events[2].Data.ShouldBeEmpty();
        events.ShouldAllBe(e => e.Stream == stream);
        EventHash.Verify(events).ShouldBeNull();
    }

    [Fact]
    public async Task when_appending_then_versions_count_from_one_and_positions_follow_the_log()
    {
        var stream = TestEvents.NewStream("positions");
        var before = await Store.GetLastPositionAsync(Ct);

        var first = await Store.AppendAsync(stream, StreamAppend.NoStream, TestEvents.Numbered(3), Ct);
        var second = await Store.AppendAsync(stream, 3, TestEvents.Numbered(2), Ct);

        first.NextVersions.ShouldBe([3L]);
        first.LastPosition.ShouldBe(before + 3);
        second.NextVersions.ShouldBe([5L]);
        second.LastPosition.ShouldBe(before + 5);
        (await Store.GetLastPositionAsync(Ct)).ShouldBe(before + 5);

        var events = await Store.ReadStream(stream);
        events.Select(e => e.Version).ShouldBe([1L, 2, 3, 4, 5]);
        events.Select(e => e.Position).ShouldBe([before + 1, before + 2, before + 3, before + 4, before + 5]);
    }

    [Fact]
    public async Task when_appending_with_no_stream_to_an_existing_stream_then_it_is_rejected()
    {
        var stream = TestEvents.NewStream("nostream");
        await Store.AppendAsync(stream, StreamAppend.NoStream, TestEvents.Numbered(2), Ct);

        var rejected = await Should.ThrowAsync<WrongExpectedVersionException>(
            () => Store.AppendAsync(stream, StreamAppend.NoStream, TestEvents.Numbered(1, "again"), Ct));

        rejected.Stream.ShouldBe(stream);
        rejected.Expected.ShouldBe(StreamAppend.NoStream);
        rejected.Actual.ShouldBe(2);
        (await Store.ReadStream(stream)).Count.ShouldBe(2);
    }

    [Fact]
    public async Task when_appending_with_any_then_it_lands_whatever_the_version()
    {
        var stream = TestEvents.NewStream("any");

        var created = await Store.AppendAsync(stream, StreamAppend.Any, TestEvents.Numbered(1), Ct);
        var appended = await Store.AppendAsync(stream, StreamAppend.Any, TestEvents.Numbered(2), Ct);

        created.NextVersions.ShouldBe([1L]);
        appended.NextVersions.ShouldBe([3L]);
        (await Store.ReadStream(stream)).Select(e => e.Version).ShouldBe([1L, 2, 3]);
    }

    [Fact]
    public async Task when_appending_at_the_exact_version_then_it_lands()
    {
        var stream = TestEvents.NewStream("exact");
        await Store.AppendAsync(stream, StreamAppend.NoStream, TestEvents.Numbered(2), Ct);

        var result = await Store.AppendAsync(stream, 2, TestEvents.Numbered(1, "third"), Ct);

        result.NextVersions.ShouldBe([3L]);
        (await Store.ReadStream(stream))[^1].Text().ShouldContain("third");
    }

    [Fact]
    public async Task when_appending_with_a_stale_expected_version_then_nothing_is_written()
    {
        var stream = TestEvents.NewStream("stale");
        await Store.AppendAsync(stream, StreamAppend.NoStream, TestEvents.Numbered(3), Ct);
        var before = await Store.GetLastPositionAsync(Ct);

        var rejected = await Should.ThrowAsync<WrongExpectedVersionException>(
            () => Store.AppendAsync(stream, 2, TestEvents.Numbered(2, "stale"), Ct));

        rejected.Expected.ShouldBe(2);
        rejected.Actual.ShouldBe(3);
        (await Store.ReadStream(stream)).Count.ShouldBe(3);
        (await Store.GetLastPositionAsync(Ct)).ShouldBe(before);
    }

    [Fact]
    public async Task when_appending_at_a_version_of_a_stream_that_does_not_exist_then_it_is_rejected()
    {
        var stream = TestEvents.NewStream("missing");

        var rejected = await Should.ThrowAsync<WrongExpectedVersionException>(
            () => Store.AppendAsync(stream, 4, TestEvents.Numbered(1), Ct));

        rejected.Actual.ShouldBe(0);
        (await Store.ReadStream(stream)).ShouldBeEmpty();
    }

    [Fact]
    public async Task when_one_stream_of_a_multi_stream_append_is_stale_then_no_stream_is_written()
    {
        var fresh = TestEvents.NewStream("multi-fresh");
        var existing = TestEvents.NewStream("multi-existing");
        await Store.AppendAsync(existing, StreamAppend.NoStream, TestEvents.Numbered(1), Ct);
        var before = await Store.GetLastPositionAsync(Ct);

        var rejected = await Should.ThrowAsync<WrongExpectedVersionException>(() => Store.AppendAsync(
        [
            new StreamAppend(fresh, StreamAppend.NoStream, TestEvents.Numbered(2)),
            new StreamAppend(existing, StreamAppend.NoStream, TestEvents.Numbered(1, "late")),
        ], Ct));

        rejected.Stream.ShouldBe(existing);
        (await Store.ReadStream(fresh)).ShouldBeEmpty();
        (await Store.ReadStream(existing)).Count.ShouldBe(1);
        (await Store.GetLastPositionAsync(Ct)).ShouldBe(before);
    }

    [Fact]
    public async Task when_appending_to_several_streams_at_once_then_each_gets_its_next_version()
    {
        var a = TestEvents.NewStream("several-a");
        var b = TestEvents.NewStream("several-b");
        await Store.AppendAsync(b, StreamAppend.NoStream, TestEvents.Numbered(4), Ct);
        var before = await Store.GetLastPositionAsync(Ct);

        var result = await Store.AppendAsync(
        [
            new StreamAppend(a, StreamAppend.NoStream, TestEvents.Numbered(2)),
            new StreamAppend(b, 4, TestEvents.Numbered(3)),
        ], Ct);

        result.NextVersions.ShouldBe([2L, 7L]);
        result.LastPosition.ShouldBe(before + 5);
        var all = await Store.ReadAllAsync(before, 100, Ct);
        all.Select(e => (e.Stream, e.Version)).ShouldBe([(a, 1L), (a, 2L), (b, 5L), (b, 6L), (b, 7L)]);
    }

    [Fact]
    public async Task when_the_same_stream_appears_twice_in_one_append_then_its_versions_continue()
    {
        var stream = TestEvents.NewStream("twice");

        var result = await Store.AppendAsync(
        [
            new StreamAppend(stream, StreamAppend.NoStream, TestEvents.Numbered(2, "first")),
            new StreamAppend(stream, 2, TestEvents.Numbered(1, "second")),
        ], Ct);

        result.NextVersions.ShouldBe([2L, 3L]);
        var events = await Store.ReadStream(stream);
        events.Select(e => e.Version).ShouldBe([1L, 2, 3]);
        EventHash.Verify(events).ShouldBeNull();
    }

    [Fact]
    public async Task when_the_second_append_of_a_stream_in_one_call_is_stale_then_neither_is_written()
    {
        var stream = TestEvents.NewStream("twice-stale");
        var before = await Store.GetLastPositionAsync(Ct);

        // The first append would take the stream to version 2: the second, expecting 1, is stale against that.
        var rejected = await Should.ThrowAsync<WrongExpectedVersionException>(() => Store.AppendAsync(
        [
            new StreamAppend(stream, StreamAppend.NoStream, TestEvents.Numbered(2, "first")),
            new StreamAppend(stream, 1, TestEvents.Numbered(1, "second")),
        ], Ct));

        (rejected.Expected, rejected.Actual).ShouldBe((1L, 2L));
        (await Store.ReadStream(stream)).ShouldBeEmpty();
        (await Store.GetLastPositionAsync(Ct)).ShouldBe(before);
    }

    [Fact]
    public async Task when_reading_from_a_version_mid_stream_then_only_that_version_and_later_come_back()
    {
        var stream = TestEvents.NewStream("mid");
        await Store.AppendAsync(stream, StreamAppend.NoStream, TestEvents.Numbered(6), Ct);

        var events = await Store.ReadStream(stream, fromVersion: 4);

        events.Select(e => e.Version).ShouldBe([4L, 5, 6]);
        events[0].Text().ShouldContain("\"n\":4");
        (await Store.ReadStream(stream, fromVersion: 7)).ShouldBeEmpty();
    }

    [Fact]
    public async Task when_reading_a_stream_that_does_not_exist_then_nothing_comes_back() =>
        (await Store.ReadStream(TestEvents.NewStream("nothing"))).ShouldBeEmpty();

    [Fact]
    public async Task when_asking_for_stream_versions_then_each_comes_back_in_the_order_asked_and_a_missing_one_is_zero()
    {
        var three = TestEvents.NewStream("versions");
        var one = TestEvents.NewStream("versions");
        var missing = TestEvents.NewStream("versions");
        // A name that would break a statement spliced together from strings.
        var quoted = TestEvents.NewStream("it's \"quoted\", [1]");
        await Store.AppendAsync(three, StreamAppend.NoStream, TestEvents.Numbered(3), Ct);
        await Store.AppendAsync(one, StreamAppend.NoStream, TestEvents.Numbered(1), Ct);
        await Store.AppendAsync(quoted, StreamAppend.NoStream, TestEvents.Numbered(2), Ct);

        (await Store.ReadStreamVersionsAsync([missing, three, quoted, one, three], Ct)).ShouldBe([0L, 3, 2, 1, 3]);
        (await Store.ReadStreamVersionsAsync([], Ct)).ShouldBeEmpty();
    }

    [Fact]
    public async Task when_reading_a_long_stream_then_every_event_comes_back_in_order()
    {
        var stream = TestEvents.NewStream("long");
        await Store.AppendAsync(stream, StreamAppend.NoStream, TestEvents.Numbered(700), Ct);

        var events = await Store.ReadStream(stream);

        events.Select(e => e.Version).ShouldBe(Enumerable.Range(1, 700).Select(v => (long)v));
        EventHash.Verify(events).ShouldBeNull();
    }

    [Fact]
    public async Task when_reading_all_after_a_position_then_at_most_max_count_events_come_back_in_order()
    {
        var stream = TestEvents.NewStream("all");
        var before = await Store.GetLastPositionAsync(Ct);
        await Store.AppendAsync(stream, StreamAppend.NoStream, TestEvents.Numbered(10), Ct);

        var page = await Store.ReadAllAsync(before + 2, 5, Ct);
        var rest = await Store.ReadAllAsync(before + 7, 100, Ct);

        page.Select(e => e.Position).ShouldBe([before + 3, before + 4, before + 5, before + 6, before + 7]);
        page.Select(e => e.Version).ShouldBe([3L, 4, 5, 6, 7]);
        rest.Select(e => e.Version).ShouldBe([8L, 9, 10]);
        (await Store.ReadAllAsync(before + 10, 100, Ct)).ShouldBeEmpty();
    }

    [Fact]
    public async Task when_reading_all_with_less_data_then_every_event_comes_back_as_stored_but_the_data_left_out()
    {
        var stream = TestEvents.NewStream("scoped");
        var before = await Store.GetLastPositionAsync(Ct);
        EventData[] appended =
        [
            TestEvents.Json(EventTypes.SpanStarted, """{"span":1}"""),
            TestEvents.Json("test.numbered.v1", """{"n":2}"""),
            TestEvents.Json(EventTypes.SpanCompleted, """{"span":3}"""),
        ];
        await Store.AppendAsync(stream, StreamAppend.NoStream, appended, Ct);

        var all = await Store.ReadAllAsync(before, 100, Ct);
        var butSpans = await Store.ReadAllAsync(before, 100, EventDataScope.AllButSpans, Ct);
        var none = await Store.ReadAllAsync(before, 100, EventDataScope.None, Ct);

        // Position, stream, version, type, time and both hashes are the events' own; the hashes still cover the data.
        static object Place(StoredEvent e) => (e.Position, e.Stream, e.Version, e.Type, e.RecordedAt, e.Hash, e.PrevHash);
        butSpans.Select(Place).ShouldBe(all.Select(Place));
        none.Select(Place).ShouldBe(all.Select(Place));
        butSpans.Select(e => e.Text()).ShouldBe(["", """{"n":2}""", ""]);
        none.Select(e => e.Data.Length).ShouldBe([0, 0, 0]);
        (await Store.ReadAllAsync(before + 1, 1, EventDataScope.AllButSpans, Ct)).Select(e => e.Text()).ShouldBe(["""{"n":2}"""]);
    }

    [Fact]
    public async Task when_appending_in_several_calls_then_each_stream_is_hash_chained()
    {
        var a = TestEvents.NewStream("chain-a");
        var b = TestEvents.NewStream("chain-b");
        await Store.AppendAsync(a, StreamAppend.NoStream, TestEvents.Numbered(2), Ct);
        await Store.AppendAsync(b, StreamAppend.NoStream, TestEvents.Numbered(1), Ct);
        await Store.AppendAsync(a, 2, TestEvents.Numbered(3, "more"), Ct);

        foreach (var stream in new[] { a, b })
        {
            var events = await Store.ReadStream(stream);
            EventHash.Verify(events).ShouldBeNull();
            events[0].PrevHash.ShouldBe(EventHash.Genesis);
            for (var i = 1; i < events.Count; i++) events[i].PrevHash.ShouldBe(events[i - 1].Hash);
            events.ShouldAllBe(e => e.Hash == EventHash.Compute(e.PrevHash, e));
        }
    }

    [Fact]
    public async Task when_an_event_is_altered_then_verification_finds_the_break()
    {
        var stream = TestEvents.NewStream("tamper");
        await Store.AppendAsync(stream, StreamAppend.NoStream, TestEvents.Numbered(3), Ct);
        var events = await Store.ReadStream(stream);

        events[1] = events[1] with { Data = "{\"n\":999}"u8.ToArray() };

        EventHash.Verify(events).ShouldNotBeNull().Version.ShouldBe(2);
    }

    [Fact]
    public async Task when_appending_then_recorded_at_is_now_in_whole_microseconds()
    {
        var stream = TestEvents.NewStream("time");
        var before = DateTimeOffset.UtcNow.AddSeconds(-5);

        await Store.AppendAsync(stream, StreamAppend.NoStream, TestEvents.Numbered(1), Ct);

        var recordedAt = (await Store.ReadStream(stream))[0].RecordedAt;
        recordedAt.ShouldBeInRange(before, DateTimeOffset.UtcNow.AddSeconds(5));
        (recordedAt.UtcTicks % 10).ShouldBe(0);
    }

    [Fact]
    public async Task when_many_tasks_append_concurrently_then_every_event_lands_once_with_a_valid_chain()
    {
        const int tasks = 200, eventsPerTask = 10, streamCount = 50;
        var streams = Enumerable.Range(0, streamCount).Select(i => TestEvents.NewStream($"concurrent-{i}")).ToArray();
        var before = await Store.GetLastPositionAsync(Ct);

        await Task.WhenAll(Enumerable.Range(0, tasks).Select(t => Task.Run(async () =>
        {
            for (var n = 0; n < eventsPerTask; n++)
                await Store.AppendAsync(streams[t % streamCount], StreamAppend.Any,
                    [TestEvents.Json("test.concurrent.v1", $$"""{"task":{{t}},"n":{{n}}}""")], Ct);
        }, Ct)));

        var all = await Store.ReadAllAsync(before, 10_000, Ct);
        all.Count.ShouldBe(tasks * eventsPerTask);
        all.Select(e => e.Position).ShouldBe(Enumerable.Range(1, tasks * eventsPerTask).Select(p => before + p));
        all.Select(e => e.Text()).Distinct().Count().ShouldBe(tasks * eventsPerTask);
        foreach (var stream in streams)
        {
            var events = await Store.ReadStream(stream);
            events.Select(e => e.Version).ShouldBe(
                Enumerable.Range(1, tasks / streamCount * eventsPerTask).Select(v => (long)v));
            EventHash.Verify(events).ShouldBeNull();
        }
    }

    [Fact]
    public async Task when_many_tasks_race_on_one_expected_version_then_exactly_one_wins()
    {
        var stream = TestEvents.NewStream("race");
        await Store.AppendAsync(stream, StreamAppend.NoStream, TestEvents.Numbered(1), Ct);

        var attempts = await Task.WhenAll(Enumerable.Range(0, 20).Select(async i =>
        {
            try
            {
                await Store.AppendAsync(stream, 1, TestEvents.Numbered(1, $"racer-{i}"), Ct);
                return true;
            }
            catch (WrongExpectedVersionException)
            {
                return false;
            }
        }));

        attempts.Count(won => won).ShouldBe(1);
        (await Store.ReadStream(stream)).Select(e => e.Version).ShouldBe([1L, 2]);
    }

    [Fact]
    public async Task when_waiting_for_events_after_the_end_then_an_append_completes_the_wait()
    {
        var last = await Store.GetLastPositionAsync(Ct);
        var wait = Store.WaitForEventsAfterAsync(last, Ct);
        wait.IsCompleted.ShouldBeFalse();

        await Store.AppendAsync(TestEvents.NewStream("wake"), StreamAppend.NoStream, TestEvents.Numbered(1), Ct);

        await wait.WaitAsync(TimeSpan.FromSeconds(10), Ct);
    }

    [Fact]
    public async Task when_waiting_for_events_already_in_the_log_then_the_wait_completes_at_once()
    {
        await Store.AppendAsync(TestEvents.NewStream("there"), StreamAppend.NoStream, TestEvents.Numbered(1), Ct);
        var last = await Store.GetLastPositionAsync(Ct);

        await Store.WaitForEventsAfterAsync(last - 1, Ct).WaitAsync(TimeSpan.FromSeconds(10), Ct);
    }

    [Fact]
    public async Task when_the_waiter_cancels_then_the_wait_ends_cancelled()
    {
        var last = await Store.GetLastPositionAsync(Ct);
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var wait = Store.WaitForEventsAfterAsync(last, cancellation.Token);

        await cancellation.CancelAsync();

        await Should.ThrowAsync<OperationCanceledException>(() => wait.WaitAsync(TimeSpan.FromSeconds(10), Ct));
    }

    [Fact]
    public async Task when_subscribing_from_a_checkpoint_then_new_events_arrive_in_order()
    {
        var stream = TestEvents.NewStream("subscribe");
        var checkpoint = await Store.GetLastPositionAsync(Ct);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        stop.CancelAfter(TimeSpan.FromSeconds(30));
        var received = new List<StoredEvent>();
        var subscription = Task.Run(async () =>
        {
            await foreach (var batch in Store.SubscribeAsync(checkpoint, 4, stop.Token))
            {
                received.AddRange(batch);
                if (received.Count >= 9) return;
            }
        }, Ct);

        await Store.AppendAsync(stream, StreamAppend.NoStream, TestEvents.Numbered(5), Ct);
        await Store.AppendAsync(stream, 5, TestEvents.Numbered(4, "later"), Ct);
        await subscription.WaitAsync(TimeSpan.FromSeconds(30), Ct);

        received.Select(e => e.Position).ShouldBe(Enumerable.Range(1, 9).Select(p => checkpoint + p));
    }
    // A second instance over the same database stands for a restarted process.
    [Fact]
    public async Task when_a_new_instance_opens_the_same_data_then_every_event_reads_back_and_the_log_and_chain_continue()
    {
        var stream = TestEvents.NewStream("durable");
        List<StoredEvent> written;
        long lastPosition;
        var first = await CreateStoreAsync();
        try
        {
            await first.AppendAsync(stream, StreamAppend.NoStream, TestEvents.Numbered(3), Ct);
            written = await first.ReadStream(stream);
            lastPosition = await first.GetLastPositionAsync(Ct);
        }
        finally
        {
            await CloseAsync(first);
        }

        var second = await CreateStoreAsync();
        try
        {
            (await second.GetLastPositionAsync(Ct)).ShouldBe(lastPosition);
            (await second.ReadStream(stream)).ShouldBe(written, ignoreOrder: false, comparer: StoredEventComparer.Instance);

            var more = await second.AppendAsync(stream, 3, TestEvents.Numbered(2, "after-reopen"), Ct);
            more.NextVersions.ShouldBe([5L]);
            more.LastPosition.ShouldBe(lastPosition + 2);
            var events = await second.ReadStream(stream);
            events[3].PrevHash.ShouldBe(written[^1].Hash);
            EventHash.Verify(events).ShouldBeNull();
        }
        finally
        {
            await CloseAsync(second);
        }
    }

    [Fact]
    public async Task when_a_store_is_disposed_then_appends_queued_before_are_committed_not_dropped()
    {
        var stream = TestEvents.NewStream("drain");
        var closing = await CreateStoreAsync();
        Task<AppendResult>[] queued = [.. Enumerable.Range(0, 100).Select(i =>
            closing.AppendAsync(stream, StreamAppend.Any, TestEvents.Numbered(1, $"queued-{i}"), Ct))];
        await CloseAsync(closing);

        queued.ShouldAllBe(t => t.IsCompletedSuccessfully);
        var reopened = await CreateStoreAsync();
        try
        {
            var events = await reopened.ReadStream(stream);
            events.Count.ShouldBe(100);
            EventHash.Verify(events).ShouldBeNull();
        }
        finally
        {
            await CloseAsync(reopened);
        }
    }

    [Fact]
    public async Task when_a_store_is_disposed_then_it_refuses_appends_as_unavailable()
    {
        var disposed = await CreateStoreAsync();
        await CloseAsync(disposed);

        await Should.ThrowAsync<EventStoreUnavailableException>(() =>
            disposed.AppendAsync(TestEvents.NewStream("late"), StreamAppend.Any, TestEvents.Numbered(1), Ct));
    }
}
