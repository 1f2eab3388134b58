using OtlpSpan = OpenTelemetry.Proto.Trace.V1.Span;

namespace AgentStack.Otlp.Mapping;

/// <summary>
/// CrewAI through OpenLLMetry (<c>opentelemetry-instrumentation-crewai</c>; issue 16). The crew's kickoff is the
/// <c>crewai.workflow</c> span (<c>crewai.crew.*</c>: the crew's fields, then <c>crewai.crew.result</c>, its answer);
/// each task a <c>traceloop.span.kind</c> <c>task</c> span (<c>crewai.task.*</c>: the task's fields, its result in
/// <c>traceloop.entity.output</c>); each agent's turn an <c>agent</c> span (<c>crewai.agent.*</c>). Every field is
/// written as text, as the instrumentation's <c>str()</c> made it.
/// </summary>
internal sealed partial class GenAiConventions
{
    /// <summary>The crew's kickoff: named <c>crewai.workflow</c>, or carrying the crew's fields.</summary>
    private static bool IsCrewAiWorkflow(OtlpSpan span, OtlpAttributes a) =>
        span.Name == "crewai.workflow" || a.Has("crewai.crew.result") || a.Has("crewai.crew.tasks");

    /// <summary>
    /// A task's prompt (its <c>description</c> and <c>expected_output</c>) is its input, as an object of the two;
    /// the crew's <c>result</c> is the workflow's output. A task's result comes from <c>traceloop.entity.output</c>
    /// (read with the generic families).
    /// </summary>
    private void ReadCrewAi(OtlpSpan span, OtlpAttributes a)
    {
        if (a.Has("crewai.task.description") || a.Has("crewai.task.expected_output"))
        {
            var description = a.Get("crewai.task.description");
            var expected = a.Get("crewai.task.expected_output");
            Input ??= JsonText.Build(w =>
            {
                w.WriteStartObject();
                if (description is not null)
                {
                    w.WritePropertyName("description");
                    OtlpAttributes.Write(w, description);
                }
                if (expected is not null)
                {
                    w.WritePropertyName("expected_output");
                    OtlpAttributes.Write(w, expected);
                }
                w.WriteEndObject();
            });
            a.Consume("crewai.task.description");
            a.Consume("crewai.task.expected_output");
        }
        if (IsCrewAiWorkflow(span, a) && Output is null && a.Get("crewai.crew.result") is { } result)
        {
            Output = JsonPayload.FromValue(result, JsonPayload.Parse.Structured);
            a.Consume("crewai.crew.result");
        }
    }
}
