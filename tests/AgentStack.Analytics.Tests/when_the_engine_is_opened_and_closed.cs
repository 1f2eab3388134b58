using System.Diagnostics;
using AgentStack.Projections.Analytics;
using AgentStack.Projections.Analytics.ChDb;
using static AgentStack.Analytics.Tests.ChDbTestEngine;

namespace AgentStack.Analytics.Tests;

/// <summary>
/// Each test needs the process's engine down (nothing else open), so this class sits in the
/// non-parallel collection, which runs after every parallel class has disposed its store.
/// </summary>
[Collection(typeof(EngineLifetimeCollection))]
public sealed class when_the_engine_is_opened_and_closed
{
    [Fact]
    public async Task then_data_survives_dispose_and_reopen_of_the_same_path()
    {
        var path = NewDataPath("persistence");
        using (var first = new ChDbAnalyticsStore(Options(path)))
        {
            await first.ExecuteAsync("CREATE DATABASE kept");
            await first.ExecuteAsync("CREATE TABLE kept.rows (id UInt32, name String) ENGINE = MergeTree ORDER BY id");
            await first.InsertAsync("kept.rows", "{\"id\":1,\"name\":\"a\"}\n{\"id\":2,\"name\":\"b\"}\n");
        }

        using var second = new ChDbAnalyticsStore(Options(path));

        (await second.QueryTextAsync("SELECT groupArray(name) FROM (SELECT name FROM kept.rows ORDER BY id)")).ShouldBe("['a','b']");
    }

    [Fact]
    public void then_a_second_data_path_in_the_same_process_is_refused_while_one_is_open()
    {
        using var open = new ChDbAnalyticsStore(Options(NewDataPath("first")));

        var error = Should.Throw<AnalyticsException>(() => new ChDbAnalyticsStore(Options(NewDataPath("second"))));

        error.Message.ShouldContain("one engine per process");
        error.Message.ShouldContain(open.DataPath);
    }

    [Fact]
    public async Task then_a_data_path_locked_by_another_process_is_a_clear_error()
    {
        // ClickHouse guards a data directory with flock on <path>/status ("Cannot lock file …/status");
        // flock(1) in a child process takes that same lock, standing in for a second AgentStack process.
        var path = NewDataPath("locked");
        Directory.CreateDirectory(path);
        using var holder = Process.Start(new ProcessStartInfo("flock", ["-x", "-n", Path.Combine(path, "status"), "-c", "echo locked; exec cat"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
        })!;
        try
        {
            (await holder.StandardOutput.ReadLineAsync(Ct)).ShouldBe("locked");

            var error = Should.Throw<AnalyticsException>(() => new ChDbAnalyticsStore(Options(path)));

            error.Code.ShouldBe(76);
            error.Message.ShouldContain("in use by another process");
            error.Message.ShouldContain(path);
        }
        finally
        {
            // cat exits at end of input, releasing the lock.
            holder.StandardInput.Close();
            await holder.WaitForExitAsync(Ct);
        }
    }
}
