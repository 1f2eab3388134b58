using System.Diagnostics;
using System.Text;
using static AgentStack.Analytics.Tests.ChDbTestEngine;

namespace AgentStack.Analytics.Tests;

public abstract class when_many_writers_insert_at_once(AnalyticsDatabase db)
{
    [Fact]
    public async Task then_every_row_of_every_writer_lands()
    {
        const int writers = 8, batchesPerWriter = 5, rowsPerBatch = 1000;
        var table = $"{db.Name}.load";
        await db.Store.ExecuteAsync(
            $"CREATE TABLE {table} (writer UInt8, batch UInt16, n UInt32, payload String) ENGINE = MergeTree ORDER BY (writer, batch, n)");

        var watch = Stopwatch.StartNew();
        var inserts = Enumerable.Range(0, writers).Select(writer => Task.Run(async () =>
        {
            for (var batch = 0; batch < batchesPerWriter; batch++)
            {
                var rows = new StringBuilder();
                for (var n = 0; n < rowsPerBatch; n++)
                {
                    rows.Append($$"""{"writer":{{writer}},"batch":{{batch}},"n":{{n}},"payload":"span {{writer}}/{{batch}}/{{n}} with some text"}""").Append('\n');
                }

                await db.Store.InsertJsonEachRowAsync(table, Encoding.UTF8.GetBytes(rows.ToString()), Ct);
            }
        }, Ct));
        // Readers keep querying meanwhile: they have their own connections and must not wait on inserts.
        var reads = Enumerable.Range(0, 20).Select(_ => db.Store.QueryTextAsync($"SELECT count() FROM {table}"));
        await Task.WhenAll([.. inserts, .. reads]);
        var elapsed = watch.Elapsed;

        (await db.Store.QueryTextAsync($"SELECT count(), uniqExact(writer, batch, n) FROM {table}"))
            .ShouldBe($"{writers * batchesPerWriter * rowsPerBatch}\t{writers * batchesPerWriter * rowsPerBatch}");
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{writers * batchesPerWriter * rowsPerBatch} rows in {writers * batchesPerWriter} batches: {elapsed.TotalMilliseconds:F0} ms " +
            $"({writers * batchesPerWriter * rowsPerBatch / elapsed.TotalSeconds:F0} rows/s)");
    }
}

public sealed class when_many_writers_insert_at_once_on_chdb(ChDbDatabase db) : when_many_writers_insert_at_once(db), IClassFixture<ChDbDatabase>;

public sealed class when_many_writers_insert_at_once_through_clickhouse_driver(ClickHouseDatabase db) : when_many_writers_insert_at_once(db), IClassFixture<ClickHouseDatabase>;
