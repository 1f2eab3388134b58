using AgentStack.EventStore.Marten;
using Npgsql;

namespace AgentStack.EventStore.Tests.Marten;

/// <summary>
/// A PostgreSQL schema of its own for each test class, dropped when the class starts (not when it ends,
/// so a failed run's rows are still there to look at). The server comes from scripts/services.sh.
/// </summary>
public sealed class PostgresSchema<TTestClass> : IAsyncLifetime
{
    public static string ConnectionString { get; } =
        Environment.GetEnvironmentVariable("ConnectionStrings__Postgres")
        ?? "Host=127.0.0.1;Port=55432;Username=postgres;Database=postgres";

    public string Name { get; } = "test_" + typeof(TTestClass).Name.ToLowerInvariant();

    public async ValueTask InitializeAsync() => await ResetAsync();

    /// <summary>Drops the schema; for test classes that reset before each test rather than once.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "test SQL over the test class's own schema name (generated, an identifier); no outside input")]
    public async Task ResetAsync()
    {
        await using var connection = await OpenRawConnectionAsync();
        await using var drop = new NpgsqlCommand($"DROP SCHEMA IF EXISTS {Name} CASCADE", connection);
        await drop.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    public MartenEventStore OpenStore(TimeProvider? timeProvider = null, string? connectionString = null) =>
        new(new MartenEventStoreOptions(connectionString ?? ConnectionString, Name), timeProvider ?? TimeProvider.System);

    /// <summary>A connection outside the store, as an operator with psql would have.</summary>
    public static async Task<NpgsqlConnection> OpenRawConnectionAsync()
    {
        var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        return connection;
    }
}
