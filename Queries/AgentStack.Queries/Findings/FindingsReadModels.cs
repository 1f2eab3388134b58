using System.Text.Json.Serialization;

namespace AgentStack.Queries.Findings;

/// <summary>
/// Filters of the findings list and chart (issue 15.5). <see cref="Kind"/> is one of <see cref="FindingKinds.All"/>,
/// <see cref="Severity"/> one of <see cref="FindingSeverities.All"/>, <see cref="Agent"/> a root span name.
/// </summary>
public sealed record FindingsFilter(DateTimeOffset? From, DateTimeOffset? To, string? Kind, string? Severity, string? Agent, string? TraceId,
    int Limit = 50, string? Cursor = null, string? DetectorVersion = null);

/// <summary>
/// A detector's finding: what (kind, rule, severity, score, reason), where (trace, span, <see cref="Field"/> = payload and
/// JSON path, offsets in that string; <see cref="SourcePosition"/> the log position of the span event it was found in, the
/// Time Machine's step, 0 when none), in which agent (its trace's root span name), by which detector and version.
/// <see cref="Position"/> is the log position of the event that recorded it.
/// </summary>
public sealed record FindingItem(long Position, long SourcePosition, string TraceId, string SpanId, string Agent, string Kind, string Rule,
    string Severity, double Score, string Reason, string Field, int Start, int Length, string Action, string Detector,
    string DetectorVersion, string DetectedAt);

public sealed record FindingList(IReadOnlyList<FindingItem> Items, string? Next);

/// <summary>Findings of one kind and severity in one time bucket.</summary>
public sealed record FindingsPoint(string Bucket, string Kind, string Severity, long Count);

public sealed record FindingsOverTime(string From, string To, string Bucket, long Total, IReadOnlyList<FindingsPoint> Points);

/// <summary>The kinds the detectors record (the event's <c>kind</c>); the API also takes them with '-' for '_'.</summary>
public static class FindingKinds
{
    public const string PromptInjection = "prompt_injection";
    public const string SensitiveData = "sensitive_data";
    public const string Anomaly = "anomaly";

    public static readonly IReadOnlyList<string> All = [PromptInjection, SensitiveData, Anomaly];

    /// <summary><c>prompt-injection</c> or <c>prompt_injection</c> → <c>prompt_injection</c>; null for an unknown kind.</summary>
    public static string? Normalize(string value)
    {
        var kind = value.Trim().ToLowerInvariant().Replace('-', '_');
        return All.Contains(kind) ? kind : null;
    }

    /// <summary>The trace list's <c>?finding=</c>: <c>any</c> or a kind; null for neither.</summary>
    public static string? ForTraceFilter(string value) => value.Trim().Equals(Any, StringComparison.OrdinalIgnoreCase) ? Any : Normalize(value);

    public const string Any = "any";

    public const string TraceFilterProblem = "finding must be any, prompt-injection, sensitive-data or anomaly";
}

public static class FindingSeverities
{
    public static readonly IReadOnlyList<string> All = ["low", "medium", "high", "critical"];
}

internal sealed record FindingItemRow(long Position, long SourcePosition, string TraceId, string SpanId, string Agent, string Kind, string Rule,
    string Severity, double Score, string Reason, string Field, int Start, int Length, string Action, string Detector,
    string DetectorVersion, string DetectedAt, long DetectedUs);

internal sealed record FindingsPointRow(string Bucket, string Kind, string Severity, long Count);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(FindingItemRow))]
[JsonSerializable(typeof(FindingsPointRow))]
internal sealed partial class FindingsRowJsonContext : JsonSerializerContext;
