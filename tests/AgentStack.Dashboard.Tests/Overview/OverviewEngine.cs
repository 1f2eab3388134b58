using System.Text;
using AgentStack.Projections.Analytics;
using AgentStack.Projections.Analytics.ChDb;

namespace AgentStack.Dashboard.Tests.Overview;

/// <summary>
/// The real ClickHouse engine (chDB in-process) on a fresh data directory with the production schema
/// applied. chDB binds one directory per process, so the overview tests share this engine and keep
/// apart by project name.
/// </summary>
public sealed class OverviewEngine : IAsyncLifetime
{
    public ChDbAnalyticsStore Store { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        var path = Path.Combine(Path.GetTempPath(), "agentstack-dashboard-tests", Guid.NewGuid().ToString("N"));
        Store = new ChDbAnalyticsStore(new ChDbOptions { DataPath = path });
        await AnalyticsSchema.ApplyAsync(Store, TestContext.Current.CancellationToken);
    }

    public Task InsertAsync(string table, params string[] rows) =>
        Store.InsertJsonEachRowAsync(table, Encoding.UTF8.GetBytes(string.Join('\n', rows) + "\n"), TestContext.Current.CancellationToken);

    public ValueTask DisposeAsync()
    {
        Store.Dispose();
        return ValueTask.CompletedTask;
    }
}
