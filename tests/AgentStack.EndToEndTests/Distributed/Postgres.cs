namespace AgentStack.EndToEndTests.Distributed;

/// <summary>The PostgreSQL that scripts/services.sh starts; each test takes schemas of its own.</summary>
public static class Postgres
{
    public static string ConnectionString =>
        Environment.GetEnvironmentVariable("ConnectionStrings__Postgres") is { Length: > 0 } configured
            ? configured
            : "Host=127.0.0.1;Port=55432;Username=postgres;Database=postgres";

    /// <summary>The Marten event store in a fresh schema.</summary>
    public static Dictionary<string, string> EventStoreSettings(string schema) => new()
    {
        ["AgentStack__EventStore__Provider"] = "Marten",
        ["AgentStack__EventStore__Schema"] = schema,
        ["ConnectionStrings__Postgres"] = ConnectionString,
    };

    public static string NewSchema() => "e2e_" + Guid.NewGuid().ToString("N")[..12];
}
