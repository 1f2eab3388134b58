using AgentStack.Erasure.Keys;
using AgentStack.EventStore.Tests.Marten;
using Npgsql;

namespace AgentStack.EventStore.Tests.Erasure;

/// <summary>The distributed key store on the real PostgreSQL: shared keys, a real delete, nothing left in the table file.</summary>
public sealed class when_keys_are_kept_in_postgres(PostgresSchema<when_keys_are_kept_in_postgres> schema)
    : IClassFixture<PostgresSchema<when_keys_are_kept_in_postgres>>
{
    [Fact]
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
        await using (var checkpoint = new NpgsqlCommand("CHECKPOINT", connection))
            await checkpoint.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
        await using var path = new NpgsqlCommand(
            $"SELECT current_setting('data_directory') || '/' || pg_relation_filepath('{schema.Name}.payload_keys')", connection);
        var file = (string)(await path.ExecuteScalarAsync(TestContext.Current.CancellationToken))!;
        var bytes = await File.ReadAllBytesAsync(file, TestContext.Current.CancellationToken);
        bytes.AsSpan().IndexOf(key.Key).ShouldBe(-1);
        bytes.AsSpan().IndexOf(bob.Key).ShouldBeGreaterThanOrEqualTo(0); // the file is readable, and holds the kept key
    }
}
