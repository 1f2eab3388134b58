using System.Text.Json;
using AgentStack.Events;
using AgentStack.Events.Security;
using AgentStack.Projections.Analytics;
using AgentStack.Projections.Running;
using AgentStack.Security.Injection;
using AgentStack.Security.SensitiveData;

namespace AgentStack.Security.Projections;

/// <summary>
/// Runs the injection and sensitive-data detectors over every completed span of the log and appends what
/// they find as <see cref="DetectionRecorded"/> events to <c>detections-{project}-{trace}</c> (issue 15).
/// Spans are never rewritten. Idempotent: before appending to a trace's detection stream it reads the
/// stream and skips detections already there (same source event, field, rule, offset, detector version),
/// and appends at the version it read, so a concurrent or repeated run fails the append and retries.
/// Which text is read as what: a tool's output as <c>tool_output</c>, a retrieval's output as
/// <c>retrieved_document</c>, everything else as <c>user_input</c>.
/// <para>
/// Retroactive detection (issue 15.6): the projection's name, and so its checkpoint, carries the detectors'
/// versions (<c>detections@4.202612031700_1</c>). A new version finds no checkpoint under its name and runs
/// over the whole log from position 0 beside the findings of the earlier one, which stay in the log and in
/// <c>security_findings</c> under their own version. On its first batch it records itself in
/// <c>agentstack.detector_versions</c>, which the read side uses to show the current version's findings.
/// </para>
/// <para>
/// A CPU budget (<c>AgentStack:Security:Detections:Budget</c>, the share of wall time it may spend detecting,
/// default 0.15): after each batch it rests for as long again as the budget asks (its reads of the log count, as the
/// runner times them), so on the two cores of a small deployment ingestion keeps its pace and, under a sustained
/// peak, findings come later rather than spans slower. The lag is the projection's distance to the log head
/// (<c>GET /api/projections</c>); it catches up when the load falls. 1 turns the budget off (docs/security-engine.md,
/// BENCHMARKS.md).
/// </para>
/// </summary>
public sealed class DetectionsProjection(IEventStore store, InjectionDetector injection, IAnalyticsStore analytics, TimeProvider clock,
    double budget = 1) : IProjection
{
    /// <summary>The base of the name; <c>GET /api/projections/detections/wait</c> waits for the running version.</summary>
    public const string ProjectionName = "detections";

    public string Name { get; } = NameOf(injection);

    /// <summary><c>detections@{injection version}_{sensitive-data version}</c>.</summary>
    public static string NameOf(InjectionDetector injection) => $"{ProjectionName}@{injection.Version}_{SensitiveDataDetector.Version}";

    private bool versionsRecorded;

    /// <summary>Strings shorter than this carry no instruction worth classifying.</summary>
    private const int MinLength = 12;

    /// <summary>After a batch, as long again as the budget asks (the runner waits it, the batch let go).</summary>
    public TimeSpan RestAfter(TimeSpan work) => budget < 1 ? work * ((1 - budget) / budget) : TimeSpan.Zero;

    public async Task ApplyAsync(IReadOnlyList<StoredEvent> batch, CancellationToken cancellationToken)
    {
        if (!versionsRecorded)
        {
            await RecordVersionsAsync(cancellationToken);
            versionsRecorded = true;
        }
        var found = new Dictionary<(string Project, string Trace), List<DetectionRecorded>>();
        foreach (var stored in batch)
        {
            if (stored.Type != EventTypes.SpanCompleted || EventTypes.Deserialize(stored.Type, stored.Data) is not SpanCompleted completed)
                continue;
            var detections = Detect(completed, stored.Position).ToList();
            if (detections.Count == 0)
                continue;
            var key = (completed.Project, completed.Span.TraceId);
            if (!found.TryGetValue(key, out var list))
                found[key] = list = [];
            list.AddRange(detections);
        }
        foreach (var ((project, trace), detections) in found)
            await AppendNewAsync(DetectionStream.Name(project, trace), detections, cancellationToken);
    }

    /// <summary>
    /// Marks this process's detector versions as the current ones (the latest <c>activated_at</c> per
    /// detector wins): a deployment fact, not a fact about the log, so it is not an event.
    /// </summary>
    private Task RecordVersionsAsync(CancellationToken cancellationToken)
    {
        var at = AgentStack.Projections.Spans.SpansProjection.ClickHouseTime(clock.GetUtcNow());
        var rows = string.Join('\n', new[] { (InjectionDetector.Name, injection.Version), (SensitiveDataDetector.Name, SensitiveDataDetector.Version) }
            .Select(d => JsonSerializer.Serialize(new Dictionary<string, string>
            {
                ["detector"] = d.Item1, ["version"] = d.Item2, ["run_by"] = Name, ["activated_at"] = at,
            })));
        return analytics.InsertJsonEachRowAsync("agentstack.detector_versions", System.Text.Encoding.UTF8.GetBytes(rows + "\n"), cancellationToken);
    }

    private async Task AppendNewAsync(string stream, List<DetectionRecorded> detections, CancellationToken ct)
    {
        var seen = new HashSet<(long, string, string, int, string)>();
        long version = 0;
        await foreach (var e in store.ReadStreamAsync(stream, 1, ct))
        {
            version = e.Version;
            if (EventTypes.Deserialize(e.Type, e.Data) is DetectionRecorded d)
                seen.Add(Identity(d));
        }
        var fresh = detections.Where(d => seen.Add(Identity(d))).Select(EventTypes.Serialize).ToList();
        if (fresh.Count > 0)
            await store.AppendAsync(stream, version == 0 ? StreamAppend.NoStream : version, fresh, ct);
    }

    private static (long, string, string, int, string) Identity(DetectionRecorded d) =>
        (d.SourcePosition, d.Field, d.Rule, d.Start, d.DetectorVersion);

    private IEnumerable<DetectionRecorded> Detect(SpanCompleted completed, long position)
    {
        var span = completed.Span;
        var outputRole = span.Kind switch
        {
            SpanKinds.Tool => TextRoles.ToolOutput,
            SpanKinds.Retrieval => TextRoles.RetrievedDocument,
            _ => TextRoles.UserInput,
        };
        // An llm span's output is the model's own answer: screened for personal data, not for injection.
        var payloads = new List<(string Field, JsonElement? Value, string? Role)>
        {
            ("input", span.Input, span.Kind is SpanKinds.Llm or SpanKinds.Agent or SpanKinds.Chain ? TextRoles.UserInput : null),
            ("output", span.Output, span.Kind is SpanKinds.Tool or SpanKinds.Retrieval ? outputRole : null),
        };
        foreach (var (field, value, role) in payloads)
        {
            if (value is not { } element)
                continue;
            foreach (var (path, text) in Strings(element, "$"))
            {
                // The length floor is the injection screen's only: a JSON value is often the bare datum ("219-45-6789",
                // "bo@acme.io"), which the guard reports in the same text.
                if (role is not null && text.Length >= MinLength)
                {
                    var verdict = injection.Detect(text, role);
                    if (verdict.Block)
                    {
                        var top = verdict.Findings.MaxBy(f => f.Score)!;
                        yield return Record(completed, position, $"{field}{path}", InjectionDetector.Kind, top.Rule, top.Score,
                            top.Score >= 0.8 ? "high" : "medium", $"{role.Replace('_', ' ')}: {top.Reason}", top.Start, top.Length,
                            InjectionDetector.Name, injection.Version);
                    }
                }
                foreach (var f in SensitiveDataDetector.Find(text))
                    yield return Record(completed, position, $"{field}{path}", SensitiveDataDetector.Kind, f.Rule, f.Score,
                        SensitiveKinds.IsSecret(f.Rule) ? "high" : "low", f.Reason, f.Start, f.Length,
                        SensitiveDataDetector.Name, SensitiveDataDetector.Version);
            }
        }
    }

    private static DetectionRecorded Record(SpanCompleted completed, long position, string field, string kind, string rule, double score,
        string severity, string reason, int start, int length, string detector, string version) =>
        // DetectedAt is the span's receipt time, not the clock: a rebuild yields the same events.
        new(completed.Project, completed.Span.TraceId, completed.Span.SpanId, position, field, kind, rule, Math.Round(score, 3),
            severity, reason, start, length, detector, version, completed.ReceivedAt);

    private static IEnumerable<(string Path, string Text)> Strings(JsonElement e, string path)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.String:
                yield return (path, JsonStrings.Text(e)); // a lone surrogate as U+FFFD: reading it threw, and the batch was retried for good
                break;
            case JsonValueKind.Object:
                foreach (var p in e.EnumerateObject())
                    foreach (var s in Strings(p.Value, $"{path}.{JsonStrings.Name(p)}"))
                        yield return s;
                break;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in e.EnumerateArray())
                    foreach (var s in Strings(item, $"{path}[{i++}]"))
                        yield return s;
                break;
        }
    }
}
