using System.Text;
using AgentStack.Projections.Analytics;
using AgentStack.Projections.Analytics.ChDb;
using AgentStack.Projections.Analytics.ClickHouse;
using AgentStack.Testing;

[assembly: AssemblyFixture(typeof(AgentStack.Analytics.Tests.ClickHouseServer))]

namespace AgentStack.Analytics.Tests;

/// <summary>
/// chDB hosts one engine per process, bound to one data directory while any connection is open, so
/// the parallel test classes share one directory per test run and isolate themselves by database
/// (<see cref="ChDbDatabase"/>). Tests that need their own directory or an engine restart live in the
/// non-parallel <see cref="EngineLifetimeCollection"/>, which xunit runs after the parallel ones.
/// </summary>
public static class ChDbTestEngine
{
    public static readonly string SharedDataPath = NewDataPath("shared");

    public static string NewDataPath(string purpose) =>
        Path.Combine(Path.GetTempPath(), "agentstack-analytics-tests", $"{purpose}-{Guid.NewGuid():N}");

    public static ChDbOptions Options(string? dataPath = null) => new() { DataPath = dataPath ?? SharedDataPath };

    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static async Task<string> QueryTextAsync(
        this IAnalyticsStore store, string sql, IReadOnlyDictionary<string, object?>? parameters = null) =>
        Encoding.UTF8.GetString(await store.QueryAsync(sql, parameters, "TabSeparated", Ct)).TrimEnd('\n');

    public static Task ExecuteAsync(this IAnalyticsStore store, string sql) => store.ExecuteAsync(sql, null, Ct);

    public static Task InsertAsync(this IAnalyticsStore store, string table, string jsonEachRow) =>
        store.InsertJsonEachRowAsync(table, Encoding.UTF8.GetBytes(jsonEachRow), Ct);
}

/// <summary>
/// A store through one adapter and a database of its own, recreated for each test class. The SQL suite
/// (issue 4: one SQL source of truth) runs its contract classes once per adapter: <see cref="ChDbDatabase"/>
/// and <see cref="ClickHouseDatabase"/>.
/// </summary>
public abstract class AnalyticsDatabase : IAsyncLifetime
{
    public string Name { get; } = $"test_{Guid.NewGuid():N}";

    public IAnalyticsStore Store { get; private set; } = null!;

    protected abstract IAnalyticsStore Open();

    public async ValueTask InitializeAsync()
    {
        Store = Open();
        await Store.ExecuteAsync($"DROP DATABASE IF EXISTS {Name}");
        await Store.ExecuteAsync($"CREATE DATABASE {Name}");
    }

    public ValueTask DisposeAsync()
    {
        (Store as IDisposable)?.Dispose();
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }
}

/// <summary>chDB in this process, on the run's shared data directory.</summary>
public sealed class ChDbDatabase : AnalyticsDatabase
{
    protected override IAnalyticsStore Open() => new ChDbAnalyticsStore(ChDbTestEngine.Options());
}

/// <summary>ClickHouse.Driver to the run's ClickHouse server (<see cref="ClickHouseServer"/>).</summary>
public sealed class ClickHouseDatabase(ClickHouseServer server) : AnalyticsDatabase
{
    public ClickHouseServer Server { get; } = server;

    protected override IAnalyticsStore Open() => new ClickHouseAnalyticsStore(Server.ConnectionString);
}

/// <summary>
/// The ClickHouse server the driver tests talk to, one per test run: the one named by
/// <c>AGENTSTACK_TEST_CLICKHOUSE</c> (a ClickHouse.Driver connection string; the GitHub workflow points it at
/// a clickhouse-server container), else the chDB HTTP stand-in started as a child process.
/// </summary>
public sealed class ClickHouseServer : IAsyncLifetime
{
    public const string EnvironmentVariable = "AGENTSTACK_TEST_CLICKHOUSE";

    private ChDbHttpServerProcess? _standIn;

    public string ConnectionString { get; private set; } = "";

    /// <summary>True when the tests run against the chDB stand-in rather than a real ClickHouse server.</summary>
    public bool IsStandIn => _standIn is not null;

    /// <summary>The server's HTTP address, for tests that speak the protocol directly.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    public string Username { get; private set; } = "default";

    public string Password { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        var configured = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (string.IsNullOrWhiteSpace(configured))
        {
            _standIn = await ChDbHttpServerProcess.StartAsync();
            configured = _standIn.ConnectionString;
        }

        ConnectionString = configured;
        var builder = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = configured };
        var host = builder.TryGetValue("Host", out var h) ? h.ToString() : "localhost";
        var port = builder.TryGetValue("Port", out var p) ? p.ToString() : "8123";
        var protocol = builder.TryGetValue("Protocol", out var s) ? s.ToString() : "http";
        BaseAddress = new Uri($"{protocol}://{host}:{port}/");
        Username = builder.TryGetValue("Username", out var u) ? u.ToString()! : "default";
        Password = builder.TryGetValue("Password", out var w) ? w.ToString()! : "";
    }

    public async ValueTask DisposeAsync()
    {
        if (_standIn is not null)
        {
            await _standIn.DisposeAsync();
        }
    }
}

[CollectionDefinition(DisableParallelization = true)]
public sealed class EngineLifetimeCollection;
