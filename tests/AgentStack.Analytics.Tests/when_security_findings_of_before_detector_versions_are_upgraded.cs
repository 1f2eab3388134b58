using AgentStack.Projections.Security;
using static AgentStack.Analytics.Tests.ChDbTestEngine;

namespace AgentStack.Analytics.Tests;

/// <summary>
/// Issue 15.6: a data directory from before detector versions holds <c>security_findings</c> keyed without
/// the version. The upgrade adds the columns and the key, once, keeping the old rows; afterwards two versions'
/// findings on one span are two rows under FINAL, while a repeat of one version still collapses.
/// </summary>
public abstract class when_security_findings_of_before_detector_versions_are_upgraded(AnalyticsDatabase db)
{
    [Fact]
    public async Task then_each_version_keeps_its_own_row_and_the_old_rows_read_as_version_empty()
    {
        var table = $"{db.Name}.security_findings";
        await db.Store.ExecuteAsync($"""
            CREATE TABLE {table} (project LowCardinality(String), trace_id String, span_id String, kind LowCardinality(String),
                action LowCardinality(String), score Float64, reason String, detected_at DateTime64(6, 'UTC'), position UInt64)
            ENGINE = ReplacingMergeTree(position) ORDER BY (project, kind, trace_id, span_id)
            """);
        await db.Store.InsertAsync(table, """{"project":"p","trace_id":"t","span_id":"s","kind":"prompt_injection","action":"flag","score":0.9,"reason":"old","detected_at":"2026-12-01 10:00:00","position":5}""");

        await SecurityFindingsUpgrade.ApplyAsync(db.Store, db.Name, Ct);
        await SecurityFindingsUpgrade.ApplyAsync(db.Store, db.Name, Ct);

        (await db.Store.QueryTextAsync($"SELECT sorting_key FROM system.tables WHERE database = '{db.Name}' AND name = 'security_findings'"))
            .ShouldBe("project, kind, trace_id, span_id, detector_version");
        foreach (var (version, position) in new[] { ("3.1", 7), ("4.2", 9), ("4.2", 9) })
            await db.Store.InsertAsync(table, $$"""{"project":"p","trace_id":"t","span_id":"s","kind":"prompt_injection","action":"flag","score":0.9,"reason":"r","detected_at":"2026-12-01 10:00:00","position":{{position}},"detector":"prompt-injection","detector_version":"{{version}}"}""");

        (await db.Store.QueryTextAsync($"SELECT detector_version, position FROM {table} FINAL ORDER BY position"))
            .ShouldBe("\t5\n3.1\t7\n4.2\t9");
    }
}

public sealed class when_security_findings_of_before_detector_versions_are_upgraded_on_chdb(ChDbDatabase db)
    : when_security_findings_of_before_detector_versions_are_upgraded(db), IClassFixture<ChDbDatabase>;
