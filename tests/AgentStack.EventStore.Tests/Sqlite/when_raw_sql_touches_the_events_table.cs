using AgentStack.Events;
using Microsoft.Data.Sqlite;

namespace AgentStack.EventStore.Tests.Sqlite;

/// <summary>Invariant 3: not even SQL run against the file can edit or remove an event.</summary>
public sealed class when_raw_sql_touches_the_events_table(SqliteDatabaseFolder<when_raw_sql_touches_the_events_table> folder)
    : IClassFixture<SqliteDatabaseFolder<when_raw_sql_touches_the_events_table>>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("UPDATE events SET data = x'7B7D' WHERE stream = $stream")]
    [InlineData("UPDATE events SET hash = 'forged', prev_hash = 'forged' WHERE stream = $stream")]
    [InlineData("DELETE FROM events WHERE stream = $stream")]
    [InlineData("DELETE FROM events")]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "the test sends the hostile SQL of its own InlineData on purpose (SQLite must refuse it)")]
    public async Task then_sqlite_refuses_it_and_the_events_stay_as_written(string sql)
    {
        var stream = TestEvents.NewStream("guarded");
        List<StoredEvent> written;
        await using (var store = folder.OpenStore())
        {
            await store.AppendAsync(stream, StreamAppend.NoStream, TestEvents.Numbered(3), Ct);
            written = await store.ReadStream(stream);

            using var connection = folder.OpenRawConnection();
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            command.Parameters.AddWithValue("$stream", stream);
            var refused = Should.Throw<SqliteException>(() => command.ExecuteNonQuery());
            refused.Message.ShouldContain("append-only");

            var after = await store.ReadStream(stream);
            after.ShouldBe(written, ignoreOrder: false, comparer: StoredEventComparer.Instance);
            EventHash.Verify(after).ShouldBeNull();
        }
    }
}
