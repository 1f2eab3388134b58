using static AgentStack.Analytics.Tests.ChDbTestEngine;

namespace AgentStack.Analytics.Tests;

public abstract class when_a_replacing_merge_tree_receives_a_row_again(AnalyticsDatabase db)
{
    [Fact]
    public async Task then_final_returns_the_highest_version_once()
    {
        var table = $"{db.Name}.spans";
        await db.Store.ExecuteAsync(
            $"CREATE TABLE {table} (trace_id String, span_id String, status String, position UInt64) " +
            "ENGINE = ReplacingMergeTree(position) ORDER BY (trace_id, span_id)");

        // Separate inserts make separate parts, so only FINAL (not a background merge) can collapse them.
        await db.Store.InsertAsync(table, """{"trace_id":"t1","span_id":"s1","status":"started","position":10}""");
        await db.Store.InsertAsync(table, """{"trace_id":"t1","span_id":"s1","status":"ok","position":12}""");
        await db.Store.InsertAsync(table, """{"trace_id":"t1","span_id":"s1","status":"ok","position":12}""");
        await db.Store.InsertAsync(table, """{"trace_id":"t1","span_id":"s2","status":"error","position":11}""");

        (await db.Store.QueryTextAsync($"SELECT count() FROM {table}")).ShouldBe("4");
        (await db.Store.QueryTextAsync($"SELECT span_id, status, position FROM {table} FINAL ORDER BY span_id"))
            .ShouldBe("s1\tok\t12\ns2\terror\t11");
    }
}

public sealed class when_a_replacing_merge_tree_receives_a_row_again_on_chdb(ChDbDatabase db) : when_a_replacing_merge_tree_receives_a_row_again(db), IClassFixture<ChDbDatabase>;

public sealed class when_a_replacing_merge_tree_receives_a_row_again_through_clickhouse_driver(ClickHouseDatabase db) : when_a_replacing_merge_tree_receives_a_row_again(db), IClassFixture<ClickHouseDatabase>;
