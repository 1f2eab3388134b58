using AgentStack.Access.Marten;
using AgentStack.Erasure.Keys;
using AgentStack.EventStore.Marten;
using AgentStack.Events;
using Npgsql;

namespace AgentStack.EventStore.Tests.Marten;

/// <summary>
/// The stores splice their schema into SQL unquoted. A word PostgreSQL reserves ("user", "order") passed their
/// pattern, and then every statement was a syntax error; each store refuses it before it connects, and the check
/// (<see cref="PostgresIdentifier"/>) refuses exactly the key words this server cannot take as a schema name.
/// </summary>
public sealed class when_a_schema_name_is_a_word_postgres_reserves
{
    private const string Unreachable = "Host=127.0.0.1;Port=1;Username=postgres;Database=postgres";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("user")]
    [InlineData("order")]
    [InlineData("select")]
    [InlineData("table")]
    [InlineData("left")]
    public void then_each_store_refuses_it(string schema)
    {
        Should.Throw<ArgumentException>(() => new MartenSchema(schema)).Message.ShouldContain("is a word PostgreSQL reserves");
        Should.Throw<ArgumentException>(() => new MartenAccessStore(new MartenAccessStoreOptions(Unreachable, schema), TimeProvider.System));
        Should.Throw<ArgumentException>(() => new PostgresSubjectKeyStore(Unreachable, schema, KeyWrapping.None));
    }

    [Fact]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "the server's own key words, in a transaction rolled back")]
    public async Task then_the_check_refuses_exactly_the_key_words_postgres_cannot_take_as_a_schema()
    {
        await using var connection = new NpgsqlConnection(PostgresSchema<when_a_schema_name_is_a_word_postgres_reserves>.ConnectionString);
        await connection.OpenAsync(Ct);
        var words = new List<string>();
        await using (var keywords = new NpgsqlCommand("SELECT word FROM pg_get_keywords()", connection))
        await using (var reader = await keywords.ExecuteReaderAsync(Ct))
            while (await reader.ReadAsync(Ct))
                words.Add(reader.GetString(0));

        // The first statement each store runs, for every key word; nothing is kept.
        var disagreements = new List<string>();
        await using var transaction = await connection.BeginTransactionAsync(Ct);
        foreach (var word in words)
        {
            await transaction.SaveAsync("word", Ct);
            bool taken;
            try
            {
                await using var create = new NpgsqlCommand($"CREATE SCHEMA IF NOT EXISTS {word}", connection, transaction);
                await create.ExecuteNonQueryAsync(Ct);
                taken = true;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.SyntaxError)
            {
                taken = false;
            }
            await transaction.RollbackAsync("word", Ct);
            if (taken != PostgresIdentifier.Refusal(word) is null)
                disagreements.Add($"{word} (PostgreSQL {(taken ? "takes" : "refuses")} it)");
        }

        words.ShouldContain("user");
        words.ShouldContain("name");
        disagreements.ShouldBeEmpty();
    }
}
