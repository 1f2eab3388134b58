using AgentStack.Projections.Analytics;
using static AgentStack.Analytics.Tests.ChDbTestEngine;

namespace AgentStack.Analytics.Tests;

public abstract class when_the_schema_is_applied(AnalyticsDatabase db)
{
    [Fact]
    public void then_scripts_come_in_file_name_order_starting_with_the_database()
    {
        var names = AnalyticsSchema.Scripts().Select(s => s.Name).ToList();

        names.ShouldNotBeEmpty();
        names[0].ShouldBe("000_database.sql");
        names.ShouldBe(names.Order(StringComparer.Ordinal).ToList());
    }

    [Fact]
    public void then_statements_split_at_semicolons_ending_a_line_and_comment_only_pieces_drop()
    {
        var statements = AnalyticsSchema.Statements("""
            -- heading comment
            CREATE TABLE a (s String DEFAULT ';') ENGINE = Memory;
            -- between
            CREATE TABLE b
            (
                x UInt8 -- a comment; not an end
            )
            ENGINE = Memory;   
            -- trailing comment only
            """);

        statements.Count.ShouldBe(2);
        statements[0].ShouldEndWith("CREATE TABLE a (s String DEFAULT ';') ENGINE = Memory");
        statements[1].ShouldEndWith("ENGINE = Memory");
        statements[1].ShouldContain("x UInt8 -- a comment; not an end");
    }

    [Fact]
    public async Task then_every_embedded_statement_runs_and_running_it_again_is_harmless()
    {
        await AnalyticsSchema.ApplyAsync(db.Store, Ct);
        await AnalyticsSchema.ApplyAsync(db.Store, Ct);

        (await db.Store.QueryTextAsync("SELECT count() FROM system.databases WHERE name = 'agentstack'")).ShouldBe("1");
    }
}

public sealed class when_the_schema_is_applied_on_chdb(ChDbDatabase db) : when_the_schema_is_applied(db), IClassFixture<ChDbDatabase>;

public sealed class when_the_schema_is_applied_through_clickhouse_driver(ClickHouseDatabase db) : when_the_schema_is_applied(db), IClassFixture<ClickHouseDatabase>;
