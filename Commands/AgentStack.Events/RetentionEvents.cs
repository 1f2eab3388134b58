using System.Text.Json.Serialization;

namespace AgentStack.Events;

// Retention per project (issue 17, item 3; docs/retention.md). The policy is an administrative act, appended to
// the project's access stream (`access-{project}`) like the other access events, so the audit trail shows who
// changed it and when; what the retention worker removed is appended to `retention-{project}`.

/// <summary>
/// The project's retention was set: payloads and analytics rows of spans older than <paramref name="Days"/> days are
/// removed; null keeps them forever (the default). <paramref name="By"/> is the acting key's id.
/// </summary>
public sealed record RetentionPolicySet(string Project, int? Days, string By, DateTimeOffset At);

/// <summary>
/// One run of the retention worker that removed something. <paramref name="KeyIds"/> are the destroyed payload keys
/// (every subject's and the project-wide key of each day before <paramref name="Cutoff"/>, a UTC midnight), so the
/// payloads they sealed read <c>{"erased":true}</c> from now on while the log's bytes and hashes stay as they were.
/// <paramref name="SpansExpired"/> and <paramref name="TracesExpired"/> are the analytics rows past their TTL that the
/// run had ClickHouse delete, <paramref name="FindingsExpired"/> the detectors' rows detected before the retention
/// (absent from runs recorded before it was counted: 0); all three are 0 in a run whose ClickHouse step failed after
/// it destroyed keys, and a later run records those rows. <paramref name="AppliedBy"/> is <c>retention</c>.
/// </summary>
public sealed record RetentionApplied(
    string Project,
    int RetentionDays,
    DateTimeOffset Cutoff,
    IReadOnlyList<string> KeyIds,
    long SpansExpired,
    long TracesExpired,
    DateTimeOffset AppliedAt,
    string AppliedBy,
    long FindingsExpired = 0);

/// <summary>Stored names of the retention events (registered in <see cref="EventTypes"/>); never renamed.</summary>
public static class RetentionEventTypes
{
    public const string PolicySet = "retention.policy.set.v1";
    public const string Applied = "retention.applied.v1";
}

/// <summary>One stream per project for what retention removed.</summary>
public static class RetentionStream
{
    public static string Name(string project) => $"retention-{project}";
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(UtcMicrosecondsConverter)])]
[JsonSerializable(typeof(RetentionPolicySet))]
[JsonSerializable(typeof(RetentionApplied))]
public sealed partial class RetentionEventJsonContext : JsonSerializerContext;
