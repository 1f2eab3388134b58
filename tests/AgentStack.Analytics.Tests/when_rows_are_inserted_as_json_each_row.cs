using System.Text;
using AgentStack.Projections.Analytics;
using static AgentStack.Analytics.Tests.ChDbTestEngine;

namespace AgentStack.Analytics.Tests;

public abstract class when_rows_are_inserted_as_json_each_row(AnalyticsDatabase db)
{
    [Fact]
    public async Task then_they_are_queried_back()
    {
        var table = $"{db.Name}.spans_basic";
        await db.Store.ExecuteAsync(
            $"CREATE TABLE {table} (id UInt64, name String, start_time DateTime64(6, 'UTC'), cost Decimal(18, 9), input Nullable(String)) " +
            "ENGINE = MergeTree ORDER BY id");

        await db.Store.InsertAsync(table, """
            {"id":1,"name":"plan","start_time":"2025-03-01 10:00:00.123456","cost":"0.000001234","input":null}
            {"id":2,"name":"tool \"search\"","start_time":"2025-03-01T10:00:01.5Z","cost":1.5,"input":"{\"q\":\"x\"}"}
            """);

        var json = Encoding.UTF8.GetString(await db.Store.QueryAsync(
            $"SELECT id, name, start_time, cost, input FROM {table} ORDER BY id", null, "JSONEachRow", Ct));
        json.ShouldBe("""
            {"id":1,"name":"plan","start_time":"2025-03-01 10:00:00.123456","cost":0.000001234,"input":null}
            {"id":2,"name":"tool \"search\"","start_time":"2025-03-01 10:00:01.500000","cost":1.5,"input":"{\"q\":\"x\"}"}

            """.ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task then_a_batch_with_a_bad_row_inserts_nothing()
    {
        var table = $"{db.Name}.all_or_nothing";
        await db.Store.ExecuteAsync($"CREATE TABLE {table} (id UInt64) ENGINE = MergeTree ORDER BY id");

        var error = await Should.ThrowAsync<AnalyticsException>(() => db.Store.InsertAsync(table, "{\"id\":1}\n{\"id\":\"not a number\"}\n"));

        error.Code.ShouldNotBeNull();
        (await db.Store.QueryTextAsync($"SELECT count() FROM {table}")).ShouldBe("0");
    }

    [Theory]
    [InlineData("spans; DROP TABLE x")]
    [InlineData("`spans`")]
    [InlineData("a.b.c")]
    [InlineData("")]
    public async Task then_a_table_name_that_is_not_an_identifier_is_refused(string table) =>
        await Should.ThrowAsync<ArgumentException>(() => db.Store.InsertAsync(table, "{}"));
}

public sealed class when_rows_are_inserted_as_json_each_row_on_chdb(ChDbDatabase db) : when_rows_are_inserted_as_json_each_row(db), IClassFixture<ChDbDatabase>;

public sealed class when_rows_are_inserted_as_json_each_row_through_clickhouse_driver(ClickHouseDatabase db) : when_rows_are_inserted_as_json_each_row(db), IClassFixture<ClickHouseDatabase>;
