using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AgentStack.Testing;
using static AgentStack.Testing.Spans;

namespace AgentStack.EndToEndTests.Operating;

/// <summary>
/// Issue 14.6: an operator rebuilds the analytics projection from position 0 into new tables while the
/// dashboard keeps reading the current ones, then the tables switch; the rebuilt rows equal the
/// incremental ones; pause and resume; a restart in the middle of a rebuild finishes it without losing
/// or doubling a row. Small rebuild batches make the rebuild last long enough to be observed.
/// </summary>
public sealed class when_a_projection_is_rebuilt : IAsyncLifetime
{
    private static readonly Dictionary<string, string> SmallBatches = new() { ["AgentStack__Projections__RebuildBatchSize"] = "4" };
    private ServerProcess server = null!;
    private HttpClient Client => server.Client;

    public async ValueTask InitializeAsync() => server = await ServerProcess.StartAsync(SmallBatches);

    public async ValueTask DisposeAsync() => await server.DisposeAsync();

    /// <summary>Traces of three spans each: one started then completed, one completed at once, one left open.</summary>
    private async Task<string> IngestAsync(int traces)
    {
        var start = DateTimeOffset.UtcNow.AddMinutes(-10);
        for (var t = 0; t < traces; t++)
        {
            var trace = NewId();
            var at = start.AddSeconds(t);
            (await Client.PostSpansAsync(Batch(Span(trace, "root", start: at), Span(trace, "open", "root", start: at.AddMilliseconds(1)))))
                .EnsureSuccessStatusCode();
            (await Client.PostSpansAsync(Batch(Span(trace, "root", start: at, end: at.AddSeconds(2)),
                Span(trace, "tool", "root", kind: "tool", start: at.AddMilliseconds(5), end: at.AddMilliseconds(50), status: "error"))))
                .EnsureSuccessStatusCode();
        }
        await server.WaitForProjectionAsync();
        return await TraceListAsync();
    }

    private async Task<string> TraceListAsync()
    {
        using var response = await Client.GetAsync(new Uri("/api/projects/default/traces?limit=500", UriKind.Relative));
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        return await response.Content.ReadAsStringAsync();
    }

    private async Task<JsonObject> AnalyticsAsync()
    {
        var status = await Client.GetFromJsonAsync<JsonObject>(new Uri("/api/projections", UriKind.Relative));
        return status!["projections"]!.AsArray().Single(p => p!["name"]!.GetValue<string>() == "analytics")!.AsObject();
    }

    private async Task<JsonObject> RebuildAsync()
    {
        using var response = await Client.PostAsync(new Uri("/api/projections/analytics/rebuild", UriKind.Relative), null);
        response.StatusCode.ShouldBe(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    private async Task<JsonObject> WaitForRebuildAsync(Func<JsonObject, Task>? whileRunning = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            var analytics = await AnalyticsAsync();
            if (analytics["rebuild"]?["phase"]?.GetValue<string>() is "done" or "failed")
                return analytics;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"rebuild not finished: {analytics.ToJsonString()}");
            if (whileRunning is not null)
                await whileRunning(analytics);
        }
    }

    [Fact]
    public async Task then_queries_keep_answering_and_the_rebuilt_tables_equal_the_incremental_ones()
    {
        var before = await IngestAsync(40);
        var started = await RebuildAsync();
        started["state"]!.GetValue<string>().ShouldBe("rebuilding");

        var answeredDuringRebuild = 0;
        var progressSeen = false;
        var done = await WaitForRebuildAsync(async analytics =>
        {
            // The dashboard's reads go on against the current tables, with the same answer throughout.
            (await TraceListAsync()).ShouldBe(before);
            answeredDuringRebuild++;
            var rebuild = analytics["rebuild"]!;
            if (rebuild["phase"]!.GetValue<string>() == "replaying" && rebuild["done"]!.GetValue<long>() > 0)
            {
                rebuild["total"]!.GetValue<long>().ShouldBeGreaterThanOrEqualTo(rebuild["done"]!.GetValue<long>());
                analytics["state"]!.GetValue<string>().ShouldBe("rebuilding");
                progressSeen = true;
            }
        });

        done["rebuild"]!["phase"]!.GetValue<string>().ShouldBe("done", done.ToJsonString());
        var parity = done["rebuild"]!["parity"]!;
        parity["equal"]!.GetValue<bool>().ShouldBeTrue(parity.ToJsonString());
        parity["spans"]!["rows"]!.GetValue<long>().ShouldBe(120);
        parity["traces"]!["rows"]!.GetValue<long>().ShouldBe(40);
        answeredDuringRebuild.ShouldBeGreaterThan(0);
        progressSeen.ShouldBeTrue("no progress was reported while replaying");
        done["state"]!.GetValue<string>().ShouldBe("running");
        (await TraceListAsync()).ShouldBe(before);

        // The switched tables keep receiving new spans.
        var after = await IngestAsync(1);
        after.ShouldNotBe(before);
    }

    [Fact]
    public async Task then_a_paused_projection_applies_nothing_until_resumed()
    {
        await IngestAsync(2);
        using (var paused = await Client.PostAsync(new Uri("/api/projections/analytics/pause", UriKind.Relative), null))
        {
            paused.StatusCode.ShouldBe(HttpStatusCode.OK);
            (await paused.Content.ReadFromJsonAsync<JsonObject>())!["state"]!.GetValue<string>().ShouldBe("paused");
        }
        var position = (await AnalyticsAsync())["position"]!.GetValue<long>();
        var trace = NewId();
        (await Client.PostSpansAsync(Batch(Span(trace, "s", end: DateTimeOffset.UtcNow)))).EnsureSuccessStatusCode();

        using (var waited = await Client.GetAsync(new Uri("/api/projections/analytics/wait?timeoutSeconds=1", UriKind.Relative)))
            waited.StatusCode.ShouldBe(HttpStatusCode.GatewayTimeout);
        var paused1 = await AnalyticsAsync();
        paused1["state"]!.GetValue<string>().ShouldBe("paused");
        paused1["position"]!.GetValue<long>().ShouldBe(position);
        paused1["lag"]!.GetValue<long>().ShouldBe(1);
        paused1["lagSeconds"]!.GetValue<double>().ShouldBeGreaterThanOrEqualTo(0);
        (await Client.GetAsync(new Uri($"/api/projects/default/traces/{trace}", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.NotFound);

        (await Client.PostAsync(new Uri("/api/projections/analytics/resume", UriKind.Relative), null)).StatusCode.ShouldBe(HttpStatusCode.OK);
        await server.WaitForProjectionAsync();
        (await AnalyticsAsync())["state"]!.GetValue<string>().ShouldBe("running");
        (await Client.GetAsync(new Uri($"/api/projects/default/traces/{trace}", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task then_a_restart_during_a_rebuild_finishes_it_without_losing_or_doubling_rows()
    {
        var before = await IngestAsync(30);
        await RebuildAsync();
        // Stop the rebuild part-way (a pause takes effect between batches), then kill the process.
        JsonObject partWay = null!;
        await Eventually.UntilAsync(() =>
        {
            partWay = AnalyticsAsync().GetAwaiter().GetResult();
            return partWay["rebuild"]?["done"]?.GetValue<long>() > 0;
        }, TimeSpan.FromSeconds(60), () => partWay.ToJsonString());
        (await Client.PostAsync(new Uri("/api/projections/analytics/pause", UriKind.Relative), null)).EnsureSuccessStatusCode();
        var pausedAt = (await AnalyticsAsync())["rebuild"]!;
        pausedAt["phase"]!.GetValue<string>().ShouldBe("replaying", pausedAt.ToJsonString());
        await server.KillAsync();

        await server.RestartAsync(SmallBatches);
        // Pauses are not kept across a restart; the rebuild resumes from its own checkpoint by itself.
        var done = await WaitForRebuildAsync();
        done["rebuild"]!["phase"]!.GetValue<string>().ShouldBe("done", done.ToJsonString());
        done["rebuild"]!["parity"]!["equal"]!.GetValue<bool>().ShouldBeTrue(done.ToJsonString());
        done["rebuild"]!["parity"]!["spans"]!["rows"]!.GetValue<long>().ShouldBe(90);
        done["rebuild"]!["parity"]!["traces"]!["rows"]!.GetValue<long>().ShouldBe(30);
        (await TraceListAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task then_a_second_rebuild_request_is_refused_while_one_runs_and_unknown_names_are_not_found()
    {
        await IngestAsync(20);
        (await Client.PostAsync(new Uri("/api/projections/analytics/pause", UriKind.Relative), null)).EnsureSuccessStatusCode();
        await RebuildAsync();
        using (var again = await Client.PostAsync(new Uri("/api/projections/analytics/rebuild", UriKind.Relative), null))
            again.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await Client.PostAsync(new Uri("/api/projections/nothing/rebuild", UriKind.Relative), null)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await Client.PostAsync(new Uri("/api/projections/analytics/resume", UriKind.Relative), null)).EnsureSuccessStatusCode();
        (await WaitForRebuildAsync())["rebuild"]!["parity"]!["equal"]!.GetValue<bool>().ShouldBeTrue();
    }
}
