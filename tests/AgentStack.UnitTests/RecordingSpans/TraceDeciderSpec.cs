using System.Text.Json;
using AgentStack.Commands.Spans.RecordingSpans;
using AgentStack.Events;

namespace AgentStack.UnitTests.RecordingSpans;

/// <summary>Given past events, when a batch of spans arrives, then these events (or none) are decided.</summary>
public abstract class TraceDeciderSpec
{
    protected static readonly DateTimeOffset Start = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);
    protected static readonly DateTimeOffset Now = Start.AddMinutes(5);

    protected static SpanRecord Span(string id = "s1", DateTimeOffset? end = null, string name = "call model",
        string? output = null, string? parent = null) =>
        new("t1", id, parent, name, SpanKinds.Llm, Start, end, end is null ? null : SpanStatuses.Ok, null, "gpt-x", "openai",
            10, 20, 0.001m, JsonDocument.Parse("""{"prompt":"hi"}""").RootElement,
            output is null ? null : JsonDocument.Parse(output).RootElement, null);

    protected static TraceDecision Decide(IEnumerable<TraceEvent> given, params SpanRecord[] when)
    {
        var state = given.Aggregate(TraceState.Initial, TraceDecider.Evolve);
        return TraceDecider.Decide(state, "default", "key_1", Now, when);
    }

    protected static IEnumerable<TraceEvent> Given(params SpanRecord[] spans) =>
        TraceDecider.Decide(TraceState.Initial, "default", "key_1", Start, spans).Events;
}

public sealed class when_a_new_span_arrives : TraceDeciderSpec
{
    [Fact]
    public void then_a_completed_span_is_recorded_as_completed()
    {
        var decision = Decide([], Span(end: Start.AddSeconds(1)));
        var e = decision.Events.ShouldHaveSingleItem().ShouldBeOfType<SpanCompleted>();
        e.Span.SpanId.ShouldBe("s1");
        e.Project.ShouldBe("default");
        e.ReceivedBy.ShouldBe("key_1");
        e.ReceivedAt.ShouldBe(Now);
        e.ContentHash.ShouldBe(TraceDecider.ContentHash(e.Span));
    }

    [Fact]
    public void then_a_span_without_end_is_recorded_as_started()
    {
        var decision = Decide([], Span());
        decision.Events.ShouldHaveSingleItem().ShouldBeOfType<SpanStarted>();
        decision.Duplicates.ShouldBe(0);
        decision.Conflicts.ShouldBeEmpty();
    }
}

public sealed class when_a_started_span_is_sent_again_with_its_end : TraceDeciderSpec
{
    [Fact]
    public void then_it_is_completed()
    {
        var decision = Decide(Given(Span()), Span(end: Start.AddSeconds(2), output: """{"answer":"yes"}"""));
        decision.Events.ShouldHaveSingleItem().ShouldBeOfType<SpanCompleted>().Span.EndTime.ShouldBe(Start.AddSeconds(2));
    }

    [Fact]
    public void then_a_changed_name_is_a_conflict_and_nothing_is_decided()
    {
        var decision = Decide(Given(Span()), Span(end: Start.AddSeconds(2), name: "renamed"));
        decision.Events.ShouldBeEmpty();
        decision.Conflicts.ShouldHaveSingleItem().SpanId.ShouldBe("s1");
    }
}

public sealed class when_a_recorded_span_is_sent_again : TraceDeciderSpec
{
    [Fact]
    public void then_the_same_content_is_a_duplicate()
    {
        var span = Span(end: Start.AddSeconds(1), output: """{"answer":"yes"}""");
        var decision = Decide(Given(span), span);
        decision.Events.ShouldBeEmpty();
        decision.Duplicates.ShouldBe(1);
    }

    [Fact]
    public void then_different_content_is_a_conflict()
    {
        var decision = Decide(Given(Span(end: Start.AddSeconds(1), output: """{"answer":"yes"}""")),
            Span(end: Start.AddSeconds(1), output: """{"answer":"no"}"""));
        decision.Events.ShouldBeEmpty();
        decision.Conflicts.ShouldHaveSingleItem().Reason.ShouldContain("already completed");
    }

    [Fact]
    public void then_a_late_start_after_the_completion_is_a_duplicate()
    {
        var decision = Decide(Given(Span(end: Start.AddSeconds(1))), Span());
        decision.Events.ShouldBeEmpty();
        decision.Duplicates.ShouldBe(1);
    }

    [Fact]
    public void then_a_started_span_with_other_content_is_a_conflict()
    {
        var decision = Decide(Given(Span()), Span(output: """{"partial":true}"""));
        decision.Conflicts.ShouldHaveSingleItem().Reason.ShouldContain("already started");
    }
}

public sealed class when_one_batch_holds_a_span_twice : TraceDeciderSpec
{
    [Fact]
    public void then_start_and_end_in_one_batch_give_two_events()
    {
        var decision = Decide([], Span(), Span(end: Start.AddSeconds(1)));
        decision.Events.Select(e => e.GetType()).ShouldBe([typeof(SpanStarted), typeof(SpanCompleted)]);
    }

    [Fact]
    public void then_an_exact_repeat_counts_as_a_duplicate()
    {
        var span = Span(end: Start.AddSeconds(1));
        var decision = Decide([], span, span);
        decision.Events.Count.ShouldBe(1);
        decision.Duplicates.ShouldBe(1);
    }
}

/// <summary>
/// Stream names join project and trace id with '-', and both may hold one: project "a"'s trace "b-x" and project "a-b"'s
/// trace "x" are one stream. The stream's state knows its project, and another project's spans are refused whole.
/// </summary>
public sealed class when_another_projects_trace_spells_the_same_stream : TraceDeciderSpec
{
    [Fact]
    public void then_the_state_knows_the_project_of_its_spans()
    {
        Given(Span()).Aggregate(TraceState.Initial, TraceDecider.Evolve).Project.ShouldBe("default");
        TraceState.Initial.Project.ShouldBeNull();
    }

    [Fact]
    public void then_every_span_of_the_other_project_conflicts_and_nothing_is_recorded()
    {
        var state = Given(Span(end: Start.AddSeconds(1))).Aggregate(TraceState.Initial, TraceDecider.Evolve);

        // The same span again (a duplicate, were it the same project's) and a new one.
        var decision = TraceDecider.Decide(state, "default-b", "key_2", Now, [Span(end: Start.AddSeconds(1)), Span("s2")]);

        decision.Events.ShouldBeEmpty();
        decision.Duplicates.ShouldBe(0);
        decision.Conflicts.Select(c => (c.SpanId, c.Reason)).ShouldBe([("s1", TraceDecider.OtherProjectsStream), ("s2", TraceDecider.OtherProjectsStream)]);
        decision.State.ShouldBe(state);
    }
}

public sealed class when_hashing_span_content
{
    [Fact]
    public void then_payload_bytes_matter_exactly()
    {
        SpanRecord With(string input) => new("t", "s", null, "n", "llm", DateTimeOffset.UnixEpoch, null, null, null, null, null,
            null, null, null, JsonDocument.Parse(input).RootElement, null, null);
        TraceDecider.ContentHash(With("""{"a":1}""")).ShouldBe(TraceDecider.ContentHash(With("""{"a":1}""")));
        TraceDecider.ContentHash(With("""{"a":1}""")).ShouldNotBe(TraceDecider.ContentHash(With("""{"a": 1}""")));
    }
}
