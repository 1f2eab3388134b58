using AgentStack.Testing;

namespace AgentStack.EndToEndTests.Distributed;

/// <summary>
/// The PostgreSQL stores take their schema into SQL unquoted (docs/distributed.md, "Schema names"). A word PostgreSQL
/// reserves passed their check: the host then stopped on a bare syntax error, or, for the projection leases, started
/// and failed their every statement while it ran. The host refuses to start, naming the key and why.
/// </summary>
public sealed class when_a_postgres_schema_is_a_reserved_word
{
    [Theory]
    [InlineData("EventStore:Provider", "Marten", "EventStore:Schema", "user")]
    [InlineData("Access:Provider", "Marten", "Access:Schema", "order")]
    [InlineData("Erasure:KeyStore", "Postgres", "Erasure:Schema", "select")]
    [InlineData("Projections:Leases", "Postgres", "Projections:LeaseSchema", "table")]
    public async Task then_the_host_refuses_to_start_naming_the_key(string store, string postgres, string key, string schema)
    {
        var failed = await Should.ThrowAsync<InvalidOperationException>(async () =>
        {
            await using var server = await ServerProcess.StartAsync(new()
            {
                ["ConnectionStrings__Postgres"] = Postgres.ConnectionString,
                [Variable(store)] = postgres,
                [Variable(key)] = schema,
            });
        });

        failed.Message.ShouldContain($"AgentStack:{key} '{schema}' is a word PostgreSQL reserves, which SQL cannot take unquoted as a schema name.");
    }

    private static string Variable(string key) => "AgentStack__" + key.Replace(":", "__", StringComparison.Ordinal);
}
