using AgentStack.Projections.Analytics;
using static AgentStack.Analytics.Tests.ChDbTestEngine;

namespace AgentStack.Analytics.Tests;

public abstract class when_the_engine_refuses_a_statement(AnalyticsDatabase db)
{
    [Fact]
    public async Task then_an_unknown_table_is_an_analytics_exception_with_its_code()
    {
        var error = await Should.ThrowAsync<AnalyticsException>(() => db.Store.QueryTextAsync($"SELECT * FROM {db.Name}.nothing_here"));

        error.Code.ShouldBe(60);
        error.Message.ShouldContain("UNKNOWN_TABLE");
    }

    [Fact]
    public async Task then_a_syntax_error_is_an_analytics_exception_with_its_code()
    {
        var error = await Should.ThrowAsync<AnalyticsException>(() => db.Store.ExecuteAsync("SELEC 1"));

        error.Code.ShouldBe(62);
        error.Message.ShouldContain("SYNTAX_ERROR");
    }

    [Fact]
    public async Task then_a_query_over_its_memory_limit_fails_cleanly_and_the_engine_carries_on()
    {
        var error = await Should.ThrowAsync<AnalyticsException>(() => db.Store.QueryTextAsync(
            "SELECT count() FROM (SELECT number % 5000000 AS k, groupArray(number) FROM numbers(10000000) GROUP BY k) " +
            "SETTINGS max_memory_usage = 10000000"));

        error.Code.ShouldBe(241);
        error.Message.ShouldContain("MEMORY_LIMIT_EXCEEDED");
        (await db.Store.QueryTextAsync("SELECT 1")).ShouldBe("1");
    }

    [Fact]
    public async Task then_a_cancelled_call_never_reaches_the_engine()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Should.ThrowAsync<OperationCanceledException>(() => db.Store.ExecuteAsync($"CREATE TABLE {db.Name}.never (id UInt8) ENGINE = Memory", null, cancelled.Token));

        (await db.Store.QueryTextAsync($"SELECT count() FROM system.tables WHERE database = '{db.Name}' AND name = 'never'")).ShouldBe("0");
    }
}

public sealed class when_the_engine_refuses_a_statement_on_chdb(ChDbDatabase db) : when_the_engine_refuses_a_statement(db), IClassFixture<ChDbDatabase>;

public sealed class when_the_engine_refuses_a_statement_through_clickhouse_driver(ClickHouseDatabase db) : when_the_engine_refuses_a_statement(db), IClassFixture<ClickHouseDatabase>;
