using System.Text;
using System.Text.Json;
using AgentStack.Erasure.Sealing;
using AgentStack.Projections.Analytics;

namespace AgentStack.Projections.Spans;

/// <summary>
/// Overwrites the analytics copies of a subject's payloads (table <c>spans</c>: input, output, attributes) with
/// <c>{"erased":true}</c>. The rows are found by the same subject rule as sealing (attributes
/// <c>agentstack.subject</c>, else <c>user.id</c>, else <c>session.id</c>), then overwritten by their trace and
/// span ids, so the mutation ClickHouse keeps on disk names ids, never the subject. The erase endpoint overwrites the
/// current tables; a rebuild overwrites its new version of them at the switch (<see cref="Rebuilding.RebuildErasures"/>). The mutation is synchronous;
/// the parts it replaced are deleted by ClickHouse after the table's <c>old_parts_lifetime</c>, which this sets
/// to <see cref="OldPartsLifetimeSeconds"/> (default 480 s) so plaintext does not linger on disk (docs/privacy.md).
/// </summary>
public static class ErasedAnalyticsRows
{
    public const int OldPartsLifetimeSeconds = 10;
    private const int Chunk = 1000;
    private const string Erased = "'{\"erased\":true}'";

    /// <summary>The subject of a row, as <c>AgentStack.Erasure.Sealing.Subjects</c> reads it from the attributes JSON.</summary>
    public const string SubjectOfRow = """
        coalesce(
            nullIf(multiIf(JSONType(ifNull(attributes, ''), 'agentstack.subject') = 'String', JSONExtractString(ifNull(attributes, ''), 'agentstack.subject'),
                           JSONType(ifNull(attributes, ''), 'agentstack.subject') IN ('Int64', 'UInt64', 'Double'), JSONExtractRaw(ifNull(attributes, ''), 'agentstack.subject'), ''), ''),
            nullIf(multiIf(JSONType(ifNull(attributes, ''), 'user.id') = 'String', JSONExtractString(ifNull(attributes, ''), 'user.id'),
                           JSONType(ifNull(attributes, ''), 'user.id') IN ('Int64', 'UInt64', 'Double'), JSONExtractRaw(ifNull(attributes, ''), 'user.id'), ''), ''),
            nullIf(multiIf(JSONType(ifNull(attributes, ''), 'session.id') = 'String', JSONExtractString(ifNull(attributes, ''), 'session.id'),
                           JSONType(ifNull(attributes, ''), 'session.id') IN ('Int64', 'UInt64', 'Double'), JSONExtractRaw(ifNull(attributes, ''), 'session.id'), ''), ''))
        """;

    /// <summary>
    /// Overwrites the subject's rows in <paramref name="tables"/> (on a <paramref name="cluster"/>, the current tables'
    /// local ones); returns how many spans they were.
    /// </summary>
    public static async Task<int> OverwriteAsync(IAnalyticsStore analytics, SpansTables tables, string? cluster, string project, string subject,
        CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(analytics);
        ArgumentNullException.ThrowIfNull(tables);
        // A number's subject is its JSON text (docs/privacy.md), but ClickHouse reads 42.0 back as 42 and 1e3 as 1000: rows
        // are also found by the text ClickHouse makes of the subject, and each is kept when its attributes name the subject
        // as sealing reads them (42 and 42.0 are two subjects, with keys of their own).
        var found = await analytics.QueryAsync($$"""
            SELECT trace_id, span_id, ifNull(attributes, '') FROM {{tables.Spans}}
            WHERE project = {project:String}
              AND {{SubjectOfRow}} IN ({subject:String}, JSONExtractRaw(concat('{"s":', {subject:String}, '}'), 's'))
            """, new Dictionary<string, object?> { ["project"] = project, ["subject"] = subject }, "JSONCompactEachRow", ct);
        var spans = Lines(found).Select(Row).Where(row => Subjects.Of(Encoding.UTF8.GetBytes(row.Attributes)) == subject)
            .Select(row => (row.Trace, row.Span)).Distinct().ToList();
        if (spans.Count == 0)
            return 0;

        var table = tables == SpansTables.Current ? AnalyticsSchema.AlterTarget("spans", cluster) : tables.Spans;
        await analytics.ExecuteAsync($"ALTER TABLE {table} MODIFY SETTING old_parts_lifetime = {OldPartsLifetimeSeconds}", null, ct);
        foreach (var chunk in spans.Chunk(Chunk))
        {
            await analytics.ExecuteAsync($$"""
                ALTER TABLE {{table}} UPDATE
                    input = if(input IS NULL, NULL, {{Erased}}),
                    output = if(output IS NULL, NULL, {{Erased}}),
                    attributes = if(attributes IS NULL, NULL, {{Erased}})
                WHERE project = {project:String} AND has(arrayZip({traces:Array(String)}, {spans:Array(String)}), (trace_id, span_id))
                SETTINGS mutations_sync = 2
                """, new Dictionary<string, object?>
            {
                ["project"] = project,
                ["traces"] = chunk.Select(s => s.Trace).ToArray(),
                ["spans"] = chunk.Select(s => s.Span).ToArray(),
            }, ct);
        }
        return spans.Count;
    }

    private static (string Trace, string Span, string Attributes) Row(string line)
    {
        using var row = JsonDocument.Parse(line);
        var cells = row.RootElement;
        return (cells[0].GetString()!, cells[1].GetString()!, cells[2].GetString()!);
    }

    /// <summary>
    /// Waits until ClickHouse has deleted the parts the mutation replaced (they hold the plaintext until then),
    /// up to <paramref name="timeout"/>; returns those still on disk, with ClickHouse's reason, when it gives up.
    /// Only on one server: on a cluster each replica removes its own parts.
    /// </summary>
    public static async Task<IReadOnlyList<string>> WaitForReplacedPartsAsync(IAnalyticsStore analytics, TimeSpan timeout, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(analytics);
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            // ClickHouse deletes outdated parts from a background task whose pace it chooses (in chDB it can wait
            // minutes). Dropping a partition that cannot exist (toYYYYMM is never 0) runs the same cleanup at
            // once: it deletes outdated parts older than old_parts_lifetime, and drops nothing.
            await analytics.ExecuteAsync("ALTER TABLE agentstack.spans DROP PARTITION ID '000000'", null, ct);
            var result = await analytics.QueryAsync(
                "SELECT name, removal_state FROM system.parts WHERE database = 'agentstack' AND table = 'spans' AND NOT active",
                null, "TabSeparated", ct);
            var pending = Lines(result);
            if (pending.Length == 0)
                return pending;
            if (DateTime.UtcNow > deadline)
            {
                // What ClickHouse says about every part of the table, for the warning.
                var parts = await analytics.QueryAsync(
                    "SELECT name, active, removal_state, remove_time, modification_time, now() FROM system.parts WHERE database = 'agentstack' AND table = 'spans'",
                    null, "TabSeparated", ct);
                var table = await analytics.QueryAsync("SELECT engine_full FROM system.tables WHERE database = 'agentstack' AND name = 'spans'",
                    null, "TabSeparated", ct);
                return [.. pending, System.Text.Encoding.UTF8.GetString(parts), System.Text.Encoding.UTF8.GetString(table)];
            }
            await Task.Delay(250, ct);
        }
    }

    /// <summary>The lines of a TabSeparated answer.</summary>
    internal static string[] Lines(byte[] answer) => System.Text.Encoding.UTF8.GetString(answer).Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>TabSeparated escapes backslash, tab and newline.</summary>
    internal static string Unescape(string cell) => cell.Contains('\\', StringComparison.Ordinal)
        ? cell.Replace("\\t", "\t", StringComparison.Ordinal).Replace("\\n", "\n", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal)
        : cell;
}
