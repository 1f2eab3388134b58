using Npgsql;

namespace AgentStack.Projections.Tests.Leasing;

/// <summary>A PostgreSQL schema of its own for each test class, dropped when the class starts. The server comes from scripts/services.sh.</summary>
public sealed class LeaseSchema<TTestClass> : IAsyncLifetime
{
    public static string ConnectionString { get; } =
        Environment.GetEnvironmentVariable("ConnectionStrings__Postgres")
        ?? "Host=127.0.0.1;Port=55432;Username=postgres;Database=postgres";

    public string Name { get; } = "test_" + typeof(TTestClass).Name.ToLowerInvariant();

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "test SQL over the test class's own schema name (generated, an identifier); no outside input")]
    public async ValueTask InitializeAsync()
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var drop = new NpgsqlCommand($"DROP SCHEMA IF EXISTS {Name} CASCADE", connection);
        await drop.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
