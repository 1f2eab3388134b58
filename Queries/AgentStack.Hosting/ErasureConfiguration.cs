using System.Globalization;
using AgentStack.Erasure;
using Microsoft.Extensions.Configuration;

namespace AgentStack.Hosting;

public static class ErasureConfiguration
{
    /// <summary>
    /// Section <c>AgentStack:Erasure</c> (docs/privacy.md): <c>KeyStore</c> is <c>Sqlite</c> (<c>keys.db</c> in the
    /// data directory) or <c>Postgres</c> (connection string <c>Postgres</c>, schema <c>Schema</c>, by default the
    /// event store's); by default Postgres when the event store is Marten, so every host shares the keys.
    /// <c>MasterKey</c> (base64, 32 bytes) wraps the stored keys; <c>KeyCacheSeconds</c> (default 10) bounds how long
    /// another process may still use a key after an erasure.
    /// </summary>
    public static ErasureOptions From(IConfiguration configuration, string dataDirectory)
    {
        var section = configuration.GetSection("AgentStack:Erasure");
        var distributedLog = string.Equals(configuration["AgentStack:EventStore:Provider"], "Marten", StringComparison.OrdinalIgnoreCase);
        var keyStore = section["KeyStore"] is { Length: > 0 } store ? store : distributedLog ? "Postgres" : "Sqlite";
        // Checked only where it is used: a SQLite key store leaves the schema unread.
        var schema = string.Equals(keyStore, "Postgres", StringComparison.OrdinalIgnoreCase)
            ? AgentStackHosting.PostgresSchema(configuration, "AgentStack:Erasure:Schema", "AgentStack:EventStore:Schema")
            : "agentstack";
        var cacheSeconds = section["KeyCacheSeconds"] is { Length: > 0 } seconds
            ? double.Parse(seconds, CultureInfo.InvariantCulture)
            : 10;
        return new ErasureOptions(
            keyStore,
            Path.Combine(dataDirectory, "keys.db"),
            configuration.GetConnectionString("Postgres"),
            schema,
            section["MasterKey"],
            TimeSpan.FromSeconds(cacheSeconds));
    }
}
