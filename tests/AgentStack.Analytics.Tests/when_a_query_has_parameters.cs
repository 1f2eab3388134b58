using AgentStack.Projections.Analytics;
using static AgentStack.Analytics.Tests.ChDbTestEngine;

namespace AgentStack.Analytics.Tests;

/// <summary>Values travel through chdb_query_with_params as ClickHouse {name:Type} parameters, never spliced into SQL.</summary>
public abstract class when_a_query_has_parameters(AnalyticsDatabase db)
{
    [Theory]
    [InlineData("it's \"quoted\"")]
    [InlineData("back\\slash and \\N and \\t")]
    [InlineData("tab\there\nnew line\r\nand NUL\0end")]
    [InlineData("'); DROP DATABASE x; --")]
    [InlineData("ünïcødé ✓")]
    [InlineData("")]
    public async Task then_strings_round_trip_exactly(string value)
    {
        var hex = await db.Store.QueryTextAsync("SELECT hex({s:String})", new Dictionary<string, object?> { ["s"] = value });

        Convert.FromHexString(hex).ShouldBe(System.Text.Encoding.UTF8.GetBytes(value));
    }

    [Fact]
    public async Task then_date_times_bind_to_date_time64_in_utc()
    {
        var table = $"{db.Name}.events";
        await db.Store.ExecuteAsync($"CREATE TABLE {table} (id UInt32, at DateTime64(6, 'UTC')) ENGINE = MergeTree ORDER BY at");
        await db.Store.InsertAsync(table, """
            {"id":1,"at":"2025-03-01 09:59:59.999999"}
            {"id":2,"at":"2025-03-01 10:00:00.000001"}
            {"id":3,"at":"2025-03-01 11:00:00.000000"}
            """);

        // 12:00 at +02:00 is 10:00 UTC: the bound value is converted, not read as local time.
        var from = new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.FromHours(2));
        var ids = await db.Store.QueryTextAsync(
            $"SELECT groupArray(id) FROM (SELECT id FROM {table} WHERE at >= {{from:DateTime64(6, 'UTC')}} AND at < {{to:DateTime64(6, 'UTC')}} ORDER BY id)",
            new Dictionary<string, object?> { ["from"] = from, ["to"] = new DateTime(2025, 3, 1, 11, 0, 0, DateTimeKind.Utc) });

        ids.ShouldBe("[2]");
    }

    [Fact]
    public async Task then_microseconds_survive_and_plain_date_time_placeholders_accept_the_value()
    {
        var at = new DateTimeOffset(2025, 3, 1, 10, 0, 0, TimeSpan.Zero).AddTicks(1_234_560);

        var text = await db.Store.QueryTextAsync(
            "SELECT {a:DateTime64(6, 'UTC')}, {b:DateTime('UTC')}, {c:Date}, {d:Nullable(DateTime64(3, 'UTC'))}",
            new Dictionary<string, object?> { ["a"] = at, ["b"] = at, ["c"] = at, ["d"] = at });

        text.ShouldBe("2025-03-01 10:00:00.123456\t2025-03-01 10:00:00\t2025-03-01\t2025-03-01 10:00:00.123");
    }

    [Fact]
    public async Task then_numbers_booleans_nulls_and_arrays_bind()
    {
        var text = await db.Store.QueryTextAsync(
            "SELECT {l:Int64} + 1, {i:Int32} * 2, {u:UInt64}, {d:Float64} * 2, {m:Decimal(18, 9)} + 1, {b:Bool}, " +
            "isNull({n:Nullable(String)}), length({a:Array(String)}), {a:Array(String)}[2], arraySum({xs:Array(Int64)})",
            new Dictionary<string, object?>
            {
                ["l"] = long.MaxValue - 1,
                ["i"] = -21,
                ["u"] = ulong.MaxValue,
                ["d"] = 0.1,
                ["m"] = 0.000000001m,
                ["b"] = true,
                ["n"] = null,
                ["a"] = new[] { "x", "it's \\ 'quoted'", "z" },
                ["xs"] = new long[] { 1, 2, 3 },
            });

        text.ShouldBe($"{long.MaxValue}\t-42\t{ulong.MaxValue}\t0.2\t1.000000001\ttrue\t1\t3\tit\\'s \\\\ \\'quoted\\'\t6");
    }

    [Fact]
    public async Task then_a_parameter_the_sql_does_not_declare_is_an_error_naming_it()
    {
        var error = await Should.ThrowAsync<AnalyticsException>(() =>
            db.Store.QueryTextAsync("SELECT {missing:String}", new Dictionary<string, object?> { ["other"] = "x" }));

        error.Code.ShouldBe(456);
        error.Message.ShouldContain("missing");
    }

    [Fact]
    public async Task then_a_parameter_or_table_name_ending_in_a_line_feed_is_refused()
    {
        await Should.ThrowAsync<ArgumentException>(() =>
            db.Store.QueryTextAsync("SELECT {s:String}", new Dictionary<string, object?> { ["s\n"] = "x" }));
        await Should.ThrowAsync<ArgumentException>(() => db.Store.InsertAsync($"{db.Name}.t\n", """{"k":1}"""));
    }

    [Fact]
    public async Task then_parameters_work_in_statements_that_write()
    {
        var table = $"{db.Name}.written";
        await db.Store.ExecuteAsync($"CREATE TABLE {table} (name String, at DateTime64(6, 'UTC')) ENGINE = MergeTree ORDER BY name");

        await db.Store.ExecuteAsync(
            $"INSERT INTO {table} SELECT {{name:String}}, {{at:DateTime64(6, 'UTC')}}",
            new Dictionary<string, object?> { ["name"] = "o'neil", ["at"] = DateTimeOffset.UnixEpoch },
            Ct);

        (await db.Store.QueryTextAsync($"SELECT name, at FROM {table}")).ShouldBe("o\\'neil\t1970-01-01 00:00:00.000000");
    }
}

public sealed class when_a_query_has_parameters_on_chdb(ChDbDatabase db) : when_a_query_has_parameters(db), IClassFixture<ChDbDatabase>;

public sealed class when_a_query_has_parameters_through_clickhouse_driver(ClickHouseDatabase db) : when_a_query_has_parameters(db), IClassFixture<ClickHouseDatabase>;
