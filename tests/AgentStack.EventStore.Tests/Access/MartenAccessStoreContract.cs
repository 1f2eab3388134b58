using System.Text;
using AgentStack.Access.Marten;
using AgentStack.Access;
using AgentStack.EventStore.Tests.Marten;
using Npgsql;

namespace AgentStack.EventStore.Tests.Access;

public sealed class MartenAccessStoreContract(PostgresSchema<MartenAccessStoreContract> schema)
    : AccessStoreContract, IClassFixture<PostgresSchema<MartenAccessStoreContract>>
{
    protected override Task ResetAsync() => schema.ResetAsync();

    protected override IAccessStore CreateStore(TimeProvider clock, string? pepper = null) =>
        new MartenAccessStore(new MartenAccessStoreOptions(PostgresSchema<MartenAccessStoreContract>.ConnectionString, schema.Name, pepper), clock);

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "test SQL over the test class's own schema name (generated, an identifier); no outside input")]
    protected override async Task<string> ReadStoredKeysAsync()
    {
        await using var connection = await PostgresSchema<MartenAccessStoreContract>.OpenRawConnectionAsync();
        // Every column as text, the JSON body included.
        await using var command = new NpgsqlCommand($"SELECT t::text FROM {schema.Name}.mt_doc_access_key t", connection);
        await using var reader = await command.ExecuteReaderAsync(Ct);
        var text = new StringBuilder();
        while (await reader.ReadAsync(Ct))
            text.Append(reader.GetString(0)).Append('\n');
        return text.ToString();
    }
}
