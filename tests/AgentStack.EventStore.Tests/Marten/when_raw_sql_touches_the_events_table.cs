using System.Text;
using AgentStack.Events;
using Npgsql;

namespace AgentStack.EventStore.Tests.Marten;

public sealed class when_raw_sql_touches_the_events_table(PostgresSchema<when_raw_sql_touches_the_events_table> schema)
    : IClassFixture<PostgresSchema<when_raw_sql_touches_the_events_table>>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("UPDATE {0}.events SET data = '\\x7b7d'::bytea")]
    [InlineData("DELETE FROM {0}.events")]
    [InlineData("TRUNCATE {0}.events")]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "the test sends the hostile SQL of its own InlineData on purpose (the store must refuse it), over its own schema")]
    public async Task then_changing_stored_events_is_refused(string sql)
    {
        await using var store = schema.OpenStore();
        var stream = TestEvents.NewStream("immutable");
        await store.AppendAsync(stream, StreamAppend.NoStream, TestEvents.Numbered(2), Ct);

        await using var connection = await PostgresSchema<when_raw_sql_touches_the_events_table>.OpenRawConnectionAsync();
        await using var command = new NpgsqlCommand(string.Format(System.Globalization.CultureInfo.InvariantCulture, sql, schema.Name), connection);
        var refused = await Should.ThrowAsync<PostgresException>(() => command.ExecuteNonQueryAsync(Ct));

        refused.MessageText.ShouldContain("append-only");
        var events = await store.ReadStream(stream);
        events.Count.ShouldBe(2);
        EventHash.Verify(events).ShouldBeNull();
    }

    [Fact]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "test SQL over the test class's own schema name (generated, an identifier); no outside input")]
    public async Task then_the_data_column_holds_the_exact_bytes_appended()
    {
        await using var store = schema.OpenStore();
        var stream = TestEvents.NewStream("bytes");
        var data = Encoding.UTF8.GetBytes("{ \"z\" : 1,\t\"a\":\"caf\u00e9\" ,\"a\":2 }");
        await store.AppendAsync(stream, StreamAppend.NoStream, [new EventData("test.bytes.v1", data)], Ct);

        await using var connection = await PostgresSchema<when_raw_sql_touches_the_events_table>.OpenRawConnectionAsync();
        await using var command = new NpgsqlCommand($"SELECT data FROM {schema.Name}.events WHERE stream = @stream", connection);
        command.Parameters.AddWithValue("stream", stream);

        ((byte[])(await command.ExecuteScalarAsync(Ct))!).ShouldBe(data);
    }
}
