using System.Text.Json;
using AgentStack.Commands.Spans.RecordingSpans;
using AgentStack.Events;

namespace AgentStack.UnitTests.RecordingSpans;

/// <summary>Issue 13: Decide(TraceState, RecordSpans) over typed events, Given/When/Then.</summary>
public sealed class when_a_record_spans_command_is_decided : TraceDeciderSpec
{
    private static RecordSpans Command(params SpanRecord[] spans) => new(Guid.NewGuid(), "default", "key_1", Now, spans);

    [Fact]
    public void then_given_nothing_a_started_and_a_completed_span_become_their_events()
    {
        var decision = TraceDecider.Decide(TraceState.Initial, Command(Span("s1"), Span("s2", end: Start.AddSeconds(1))));
        decision.Events.Select(e => e.GetType()).ShouldBe([typeof(SpanStarted), typeof(SpanCompleted)]);
        decision.Events.ShouldAllBe(e => e.Match(s => s.ReceivedAt, c => c.ReceivedAt) == Now);
    }

    [Fact]
    public void then_given_the_start_the_end_completes_it_and_evolving_records_both_hashes()
    {
        var given = Given(Span());
        var state = given.Aggregate(TraceState.Initial, TraceDecider.Evolve);
        var decision = TraceDecider.Decide(state, Command(Span(end: Start.AddSeconds(1))));
        var completed = decision.Events.ShouldHaveSingleItem().ShouldBeOfType<SpanCompleted>();

        var entry = TraceDecider.Evolve(state, completed).Spans["s1"];
        entry.StartedHash.ShouldBe(given.Single().Match(s => s.ContentHash, c => c.ContentHash));
        entry.CompletedHash.ShouldBe(completed.ContentHash);
    }

    [Fact]
    public void then_given_the_completion_the_same_command_again_is_all_duplicates()
    {
        var spans = new[] { Span("s1", end: Start.AddSeconds(1)), Span("s2", end: Start.AddSeconds(2)) };
        var state = Given(spans).Aggregate(TraceState.Initial, TraceDecider.Evolve);
        var decision = TraceDecider.Decide(state, Command(spans));
        decision.Events.ShouldBeEmpty();
        decision.Duplicates.ShouldBe(2);
        decision.Conflicts.ShouldBeEmpty();
    }

    [Fact]
    public void then_the_decision_carries_the_state_its_events_lead_to()
    {
        var state = Given(Span("s1")).Aggregate(TraceState.Initial, TraceDecider.Evolve);
        var decision = TraceDecider.Decide(state, Command(Span("s1", end: Start.AddSeconds(1)), Span("s2"), Span("s1", end: Start.AddSeconds(1))));

        var folded = decision.Events.Aggregate(state, TraceDecider.Evolve);
        decision.State.Spans.Keys.Order().ShouldBe(["s1", "s2"]);
        decision.State.Spans.ShouldAllBe(entry => folded.Spans[entry.Key] == entry.Value);
        decision.Duplicates.ShouldBe(1);
        TraceDecider.Decide(state, Command()).State.ShouldBeSameAs(state);
    }

    [Fact]
    public void then_the_state_counts_open_spans_and_is_finished_once_a_root_completed_and_none_is_open()
    {
        var state = TraceState.Initial;
        state.Finished.ShouldBeFalse();
        state = Given(Span("root"), Span("child") with { ParentSpanId = "root" }).Aggregate(state, TraceDecider.Evolve);
        (state.Open, state.RootCompleted, state.Finished).ShouldBe((2, false, false));

        state = TraceDecider.Decide(state, Command(Span("root", end: Start.AddSeconds(2)))).State;
        (state.Open, state.RootCompleted, state.Finished).ShouldBe((1, true, false));

        state = TraceDecider.Decide(state, Command(Span("child", end: Start.AddSeconds(1)) with { ParentSpanId = "root" })).State;
        (state.Open, state.Finished).ShouldBe((0, true));

        // A span that arrives completed opens nothing; a start after its completion reopens nothing.
        var completedFirst = Given(Span("a", end: Start.AddSeconds(1))).Aggregate(TraceState.Initial, TraceDecider.Evolve);
        completedFirst = TraceDecider.Evolve(completedFirst, Given(Span("a")).Single());
        (completedFirst.Open, completedFirst.Finished).ShouldBe((0, true));
    }

    [Fact]
    public void then_an_event_read_back_is_stored_again_as_the_same_bytes()
    {
        var decided = Given(Span(end: Start.AddSeconds(1))).Single();
        var stored = EventTypes.Serialize(decided);
        var read = EventTypes.Deserialize(stored.Type, stored.Data).ShouldBeOfType<SpanCompleted>();
        read.ContentHash.ShouldBe(decided.Match(s => s.ContentHash, c => c.ContentHash));
        EventTypes.Serialize(read).Data.ShouldBe(stored.Data);
    }
}

/// <summary>Issue 13: one serialisation per span, and the stored bytes exactly as before.</summary>
public sealed class when_a_decided_event_is_serialised : TraceDeciderSpec
{
    public static TheoryData<string> Payloads => new()
    {
        """{"prompt":"hi"}""",
        """{"text":"<b>tags</b> & 'quotes' + \"escapes\" \u00e9 \ud83d\ude00 ünïcödé"}""",
        """[1, 2.50, {"nested": [true, null]}]""",
    };

    [Theory]
    [MemberData(nameof(Payloads))]
    public void then_the_bytes_are_those_the_json_context_writes(string payload)
    {
        var span = new SpanRecord("t<1>&", "s'1", "p+1", "name with ünïcödé & <html>", SpanKinds.Tool,
            Start.AddTicks(1234567), Start.AddSeconds(3).AddTicks(89), SpanStatuses.Error, "bad \"thing\"", "gpt-x", "openai",
            10, null, 0.00042m, JsonDocument.Parse(payload).RootElement, JsonDocument.Parse(payload).RootElement,
            JsonDocument.Parse("""{"k":"v"}""").RootElement);
        foreach (var decided in TraceDecider.Decide(TraceState.Initial, "proj-é", "key<1>", Now.AddTicks(7), [span with { EndTime = null }, span]).Events)
        {
            var fast = EventTypes.Serialize(decided);
            var reference = decided.Match(
                s => JsonSerializer.SerializeToUtf8Bytes(s, EventJsonContext.Default.SpanStarted),
                c => JsonSerializer.SerializeToUtf8Bytes(c, EventJsonContext.Default.SpanCompleted));
            System.Text.Encoding.UTF8.GetString(fast.Data).ShouldBe(System.Text.Encoding.UTF8.GetString(reference));
            fast.Data.ShouldBe(reference);
            fast.Type.ShouldBe(EventTypes.NameOf(decided));
        }
    }

    [Fact]
    public void then_the_decider_writes_the_event_once_and_an_event_changed_after_is_written_from_its_fields()
    {
        var decided = TraceDecider.Decide(TraceState.Initial, "proj", "key_1", Now, [Span(end: Start.AddSeconds(1))])
            .Events.ShouldHaveSingleItem().ShouldBeOfType<SpanCompleted>();
        EventTypes.Serialize(decided).Data.ShouldBeSameAs(decided.CanonicalSpan!.EventUtf8);

        SpanCompleted[] changed =
        [
            decided with { Project = "other" },
            decided with { ReceivedBy = "key_2" },
            decided with { ReceivedAt = Now.AddTicks(10) },
            decided with { ReceivedAt = Now.ToOffset(TimeSpan.FromHours(2)) },
            decided with { ContentHash = new string('0', 64) },
            decided with { Span = decided.Span with { Name = "renamed" } },
        ];
        foreach (var e in changed)
        {
            var data = EventTypes.Serialize(e).Data;
            data.ShouldNotBeSameAs(decided.CanonicalSpan.EventUtf8);
            data.ShouldBe(JsonSerializer.SerializeToUtf8Bytes(e, EventJsonContext.Default.SpanCompleted));
        }
    }

    [Fact]
    public void then_events_are_equal_by_kind_and_members_never_by_their_canonical_bytes()
    {
        var decided = TraceDecider.Decide(TraceState.Initial, "proj", "key_1", Now, [Span(end: Start.AddSeconds(1))])
            .Events.ShouldHaveSingleItem().ShouldBeOfType<SpanCompleted>();
        decided.CanonicalSpan.ShouldNotBeNull();
        var plain = decided with { CanonicalSpan = null };
        plain.ShouldBe(decided);
        plain.GetHashCode().ShouldBe(decided.GetHashCode());

        TraceEvent started = new SpanStarted(decided.Project, decided.Span, decided.ContentHash, decided.ReceivedAt, decided.ReceivedBy);
        started.ShouldNotBe(decided);
        decided.ShouldNotBe(started);
        (decided with { ReceivedBy = "key_2" }).ShouldNotBe(decided);
    }

    [Fact]
    public void then_the_stored_names_are_unchanged()
    {
        EventTypes.NameOf(Given(Span()).Single()).ShouldBe("span.started.v1");
        EventTypes.NameOf(Given(Span(end: Start.AddSeconds(1))).Single()).ShouldBe("span.completed.v1");
    }
}

public sealed class when_event_types_are_registered
{
    [Fact]
    public void then_every_trace_event_subtype_has_a_stored_name_and_json_type_info()
    {
        var subtypes = typeof(TraceEvent).Assembly.GetTypes()
            .Where(t => t.IsSubclassOf(typeof(TraceEvent)) && !t.IsAbstract)
            .ToList();
        subtypes.ShouldNotBeEmpty();
        subtypes.ShouldAllBe(t => EventTypes.RegisteredTypes.Contains(t));
    }
}

public sealed class when_trace_states_are_cached
{
    private static readonly TraceState State = TraceState.Initial;

    [Fact]
    public void then_the_least_recently_used_stream_leaves_first()
    {
        var cache = new TraceStateCache(2);
        cache.Set("a", State, 1);
        cache.Set("b", State, 1);
        cache.TryGet("a", out _).ShouldBeTrue();
        cache.Set("c", State, 1);
        cache.TryGet("b", out _).ShouldBeFalse();
        cache.TryGet("a", out var a).ShouldBeTrue();
        a.Version.ShouldBe(1);
        cache.Count.ShouldBe(2);
    }

    [Fact]
    public void then_a_removed_stream_is_read_again()
    {
        var cache = new TraceStateCache(10);
        cache.Set("a", State, 3);
        cache.Remove("a");
        cache.TryGet("a", out _).ShouldBeFalse();
    }
}
