using AgentStack.EventStore.Common;
using AgentStack.Projections.Analytics.ChDb;
using static AgentStack.Analytics.Tests.ChDbTestEngine;

namespace AgentStack.Analytics.Tests;

/// <summary>
/// chDB's merge threads run below the process's priority (<see cref="ChDbOptions.MergeNice"/>), so its merge bursts
/// take only what ingestion leaves. The threads are the engine's own, so this class needs the engine to itself.
/// </summary>
[Collection(typeof(EngineLifetimeCollection))]
public sealed class when_the_engine_merges_in_the_background
{
    [Fact]
    public async Task then_its_merge_threads_run_the_configured_steps_below_the_process()
    {
        var process = ThreadNice.Process()!.Value;
        var options = Options(NewDataPath("merges"));
        options.MergeNice = 7;
        using var store = new ChDbAnalyticsStore(options);
        await store.ExecuteAsync("CREATE DATABASE merged");
        await store.ExecuteAsync("CREATE TABLE merged.rows (id UInt32) ENGINE = MergeTree ORDER BY id");
        for (var i = 0; i < 3; i++)
            await store.InsertAsync("merged.rows", $"{{\"id\":{i}}}\n");

        IReadOnlyList<(int Tid, int Nice)> threads = [];
        for (var waited = TimeSpan.Zero; waited < TimeSpan.FromSeconds(20); waited += TimeSpan.FromMilliseconds(200))
        {
            threads = ThreadNice.ThreadsNamed("MergeMutate");
            if (threads.Count > 0 && threads.All(t => t.Nice == Math.Min(19, process + 7)))
                break;
            await Task.Delay(200, Ct);
        }

        threads.ShouldNotBeEmpty();
        threads.Select(t => t.Nice).ShouldAllBe(nice => nice == Math.Min(19, process + 7));
    }
}
