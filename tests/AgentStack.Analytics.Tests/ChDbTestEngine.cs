using System.Text;
using AgentStack.Projections.Analytics;
using AgentStack.Projections.Analytics.ChDb;

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

/// <summary>A store on the shared engine and a database of its own, recreated for each test class.</summary>
public sealed class ChDbDatabase : IAsyncLifetime
{
    public string Name { get; } = $"test_{Guid.NewGuid():N}";

    public ChDbAnalyticsStore Store { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Store = new ChDbAnalyticsStore(ChDbTestEngine.Options());
        await Store.ExecuteAsync($"DROP DATABASE IF EXISTS {Name}");
        await Store.ExecuteAsync($"CREATE DATABASE {Name}");
    }

    public ValueTask DisposeAsync()
    {
        Store.Dispose();
        return ValueTask.CompletedTask;
    }
}

[CollectionDefinition(DisableParallelization = true)]
public sealed class EngineLifetimeCollection;
