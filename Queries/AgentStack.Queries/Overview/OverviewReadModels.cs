using System.Text.Json.Serialization;

namespace AgentStack.Queries.Overview;

/// <summary>The time range every overview chart shares; <see cref="Bucket"/> is minute, hour or day.</summary>
public sealed record OverviewRange(DateTimeOffset From, DateTimeOffset To, string Bucket);

/// <summary>Cost and tokens of spans that name a model, per time bucket and model (stacked charts).</summary>
public sealed record UsagePoint(string Bucket, string Model, long Calls, long InputTokens, long OutputTokens, decimal CostUsd);

public sealed record UsageSeries(string From, string To, string Bucket, IReadOnlyList<UsagePoint> Points);

/// <summary>
/// Findings per UTC day: anomalies detected, prompt injections the guard blocked, and prompt injections the detectors
/// found in recorded spans (issue 15.5; flagged, not blocked: the span had already run).
/// </summary>
public sealed record SecurityDay(string Day, long Anomalies, long PromptInjectionsBlocked, long PromptInjectionsDetected = 0);

public sealed record SecuritySeries(string From, string To, long TotalFindings, IReadOnlyList<SecurityDay> Days);

/// <summary>One trace: time spent in external calls (tool, retrieval spans) against time in LLM generation.</summary>
public sealed record LatencyPoint(string TraceId, string Name, string StartTime, double ExternalMs, double LlmMs, string Status);

public sealed record LatencyScatter(string From, string To, IReadOnlyList<LatencyPoint> Points);

/// <summary>Traces started per bucket and how many of them hold an error span.</summary>
public sealed record ErrorRatePoint(string Bucket, long Traces, long Errors, double ErrorRate);

public sealed record ErrorRateSeries(string From, string To, string Bucket, IReadOnlyList<ErrorRatePoint> Points);

/// <summary>Exact p50 and p95 of completed spans' durations, per model.</summary>
public sealed record ModelLatency(string Model, long Calls, double P50Ms, double P95Ms);

public sealed record ModelLatencyList(string From, string To, IReadOnlyList<ModelLatency> Models);

/// <summary>The values the trace filters can take in the range (models and kinds seen).</summary>
public sealed record TraceFilterOptions(IReadOnlyList<string> Models, IReadOnlyList<string> Kinds);

/// <summary>A detector's finding on a span of the trace.</summary>
public sealed record FindingView(string TraceId, string SpanId, string Kind, string Action, double Score, string Reason, string DetectedAt);

public sealed record TraceFindings(IReadOnlyList<FindingView> Findings);

internal sealed record FindingRow(string TraceId, string SpanId, string Kind, string Action, double Score, string Reason, string DetectedAt);

/// <summary>Rows as ClickHouse returns them (JSONEachRow, snake_case columns).</summary>
internal sealed record UsageRow(string Bucket, string Model, long Calls, long InputTokens, long OutputTokens, decimal CostUsd);

internal sealed record SecurityRow(string Day, long Anomalies, long PromptInjectionsBlocked, long PromptInjectionsDetected);

internal sealed record LatencyRow(string TraceId, string Name, string StartTime, double ExternalMs, double LlmMs, long Errors);

internal sealed record ErrorRateRow(string Bucket, long Traces, long Errors);

internal sealed record ModelLatencyRow(string Model, long Calls, double P50Ms, double P95Ms);

internal sealed record ValueRow(string Value);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(UsageRow))]
[JsonSerializable(typeof(SecurityRow))]
[JsonSerializable(typeof(LatencyRow))]
[JsonSerializable(typeof(ErrorRateRow))]
[JsonSerializable(typeof(ModelLatencyRow))]
[JsonSerializable(typeof(ValueRow))]
[JsonSerializable(typeof(FindingRow))]
internal sealed partial class OverviewRowJsonContext : JsonSerializerContext;
