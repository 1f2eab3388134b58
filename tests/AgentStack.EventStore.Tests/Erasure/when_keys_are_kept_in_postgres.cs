using AgentStack.Erasure.Keys;
using AgentStack.EventStore.Tests.Marten;
using Npgsql;

namespace AgentStack.EventStore.Tests.Erasure;

/// <summary>The distributed key store on the real PostgreSQL: shared keys, a real delete, nothing left in the table file.</summary>
public sealed class when_keys_are_kept_in_postgres(PostgresSchema<when_keys_are_kept_in_postgres> schema)
    : IClassFixture<PostgresSchema<when_keys_are_kept_in_postgres>>
{
    [Fact]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "test SQL over the test class's own schema name (generated, an identifier); no outside input")]
    public async Task then_two_hosts_share_a_key_and_destroying_it_leaves_no_copy_in_the_table_file()
    {
        using var first = new PostgresSubjectKeyStore(PostgresSchema<when_keys_are_kept_in_postgres>.ConnectionString, schema.Name, KeyWrapping.None);
        using var second = new PostgresSubjectKeyStore(PostgresSchema<when_keys_are_kept_in_postgres>.ConnectionString, schema.Name, KeyWrapping.None);
        var key = first.GetOrCreate("p1", "h-alice", 20261201);
        var again = second.GetOrCreate("p1", "h-alice", 20261201);
        again.KeyId.ShouldBe(key.KeyId);
        again.Key.ShouldBe(key.Key);
        var bob = second.GetOrCreate("p1", "h-bob", 20261201);
        first.ProjectSecret("p1").ShouldBe(second.ProjectSecret("p1"));

        second.Destroy("p1", "h-alice").ShouldBe(new[] { key.KeyId });
        first.Find(key.KeyId).ShouldBeNull();
        first.Find(bob.KeyId).ShouldBe(bob.Key);

        await using var connection = await PostgresSchema<when_keys_are_kept_in_postgres>.OpenRawConnectionAsync();
        await using var path = new NpgsqlCommand(
            $"SELECT current_setting('data_directory') || '/' || pg_relation_filepath('{schema.Name}.payload_keys')", connection);
        // VACUUM FULL keeps a deleted row while any older transaction of the cluster could still see it (other test
        // classes share this server), so the condition is: once no such snapshot remains, the rewritten file holds no copy.
        byte[] bytes;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            await using (var vacuum = new NpgsqlCommand($"VACUUM FULL {schema.Name}.payload_keys; CHECKPOINT", connection))
                await vacuum.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
            var file = (string)(await path.ExecuteScalarAsync(TestContext.Current.CancellationToken))!;
            bytes = await File.ReadAllBytesAsync(file, TestContext.Current.CancellationToken);
            if (bytes.AsSpan().IndexOf(key.Key) < 0 || DateTime.UtcNow > deadline)
                break;
            await Task.Delay(200, TestContext.Current.CancellationToken);
        }
        bytes.AsSpan().IndexOf(key.Key).ShouldBe(-1, "a copy of the destroyed key stayed in the table file for 60 s");
        bytes.AsSpan().IndexOf(bob.Key).ShouldBeGreaterThanOrEqualTo(0); // the file is readable, and holds the kept key
    }

    [Fact]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "test SQL over the test class's own schema name (generated, an identifier); no outside input")]
    public async Task then_destroying_waits_for_an_older_transaction_so_the_rewritten_file_holds_no_copy()
    {
        var ct = TestContext.Current.CancellationToken;
        using var store = new PostgresSubjectKeyStore(PostgresSchema<when_keys_are_kept_in_postgres>.ConnectionString, schema.Name, KeyWrapping.None);
        var project = "w" + Guid.NewGuid().ToString("N")[..8];
        var key = store.GetOrCreate(project, "h-dave", 20261201);
        var kept = store.GetOrCreate(project, "h-erin", 20261201);

        // Another session's transaction that began before the destruction: its snapshot could still see the row. It
        // takes no lock on the key table, which would hold VACUUM FULL back by itself.
        await using var other = await PostgresSchema<when_keys_are_kept_in_postgres>.OpenRawConnectionAsync();
        await using var older = await other.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, ct);
        await using (var snapshot = new NpgsqlCommand("SELECT 1", other, older))
            await snapshot.ExecuteScalarAsync(ct);
        var destroying = Task.Run(() => store.Destroy(project, "h-dave"), ct);
        // What is asserted is that nothing happens while the older transaction is open, so this waits a time rather than
        // a condition: long enough for a store that did not wait to delete and rewrite the table (a few milliseconds).
        await Task.Delay(500, ct);
        destroying.IsCompleted.ShouldBeFalse("the table was rewritten while a transaction that could see the row was open");
        await older.CommitAsync(ct);
        (await destroying).ShouldBe(new[] { key.KeyId });

        await using var connection = await PostgresSchema<when_keys_are_kept_in_postgres>.OpenRawConnectionAsync();
        await using (var checkpoint = new NpgsqlCommand("CHECKPOINT", connection))
            await checkpoint.ExecuteNonQueryAsync(ct);
        await using var path = new NpgsqlCommand(
            $"SELECT current_setting('data_directory') || '/' || pg_relation_filepath('{schema.Name}.payload_keys')", connection);
        var bytes = await File.ReadAllBytesAsync((string)(await path.ExecuteScalarAsync(ct))!, ct);
        bytes.AsSpan().IndexOf(key.Key).ShouldBe(-1);
        bytes.AsSpan().IndexOf(kept.Key).ShouldBeGreaterThanOrEqualTo(0);
    }

    [Fact]
    public void then_retention_destroys_every_key_of_the_days_before_a_day()
    {
        using var store = new PostgresSubjectKeyStore(PostgresSchema<when_keys_are_kept_in_postgres>.ConnectionString, schema.Name, KeyWrapping.None);
        var project = "r" + Guid.NewGuid().ToString("N")[..8];
        var old = store.GetOrCreate(project, "", 20261101);
        var oldSubject = store.GetOrCreate(project, "h-carol", 20261102);
        var undated = store.GetOrCreate(project, "", 0);
        var kept = store.GetOrCreate(project, "h-carol", 20261130);

        store.DestroyBefore(project, 20261130).Order().ShouldBe(new[] { old.KeyId, oldSubject.KeyId }.Order());

        store.Find(old.KeyId).ShouldBeNull();
        store.Find(oldSubject.KeyId).ShouldBeNull();
        store.Find(undated.KeyId).ShouldBe(undated.Key);
        store.Find(kept.KeyId).ShouldBe(kept.Key);
    }
}
