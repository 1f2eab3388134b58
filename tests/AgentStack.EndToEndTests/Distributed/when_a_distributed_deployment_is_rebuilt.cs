using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AgentStack.Testing;
using static AgentStack.Testing.Spans;

namespace AgentStack.EndToEndTests.Distributed;

/// <summary>
/// Issue 14.6 on the distributed stores (Marten and a ClickHouse server, the chDB HTTP stand-in here): where
/// workers share the log through leases the rebuild answers 409 and says what to do; done as it says (one
/// AgentStack.Server on the same stores with Leases=None), the rebuild switches with parity, its rows going
/// through ClickHouse.Driver in RowBinary.
/// </summary>
public sealed class when_a_distributed_deployment_is_rebuilt : IAsyncLifetime
{
    private readonly string schema = Postgres.NewSchema();
    private ChDbHttpServerProcess clickHouse = null!;
    private ServerProcess server = null!;

    private Dictionary<string, string> Settings(string leases)
    {
        var settings = new Dictionary<string, string>(Postgres.EventStoreSettings(schema))
        {
            ["AgentStack__Analytics__Provider"] = "ClickHouse",
            ["ConnectionStrings__ClickHouse"] = clickHouse.ConnectionString,
            ["AgentStack__Projections__Partitions"] = "2",
            ["AgentStack__Projections__Leases"] = leases,
            ["AgentStack__Projections__LeaseSchema"] = schema,
            ["AgentStack__Projections__RebuildBatchSize"] = "7",
        };
        return settings;
    }

    public async ValueTask InitializeAsync()
    {
        clickHouse = await ChDbHttpServerProcess.StartAsync();
        server = await ServerProcess.StartAsync(Settings("Postgres"));
    }

    public async ValueTask DisposeAsync()
    {
        await server.DisposeAsync();
        await clickHouse.DisposeAsync();
    }

    [Fact]
    public async Task then_leased_workers_refuse_with_the_way_to_do_it_and_a_single_worker_rebuilds()
    {
        var start = DateTimeOffset.UtcNow.AddMinutes(-5);
        for (var t = 0; t < 6; t++)
        {
            var trace = NewId();
            (await server.Client.PostSpansAsync(Batch(Span(trace, "root", start: start.AddSeconds(t), end: start.AddSeconds(t + 2)),
                Span(trace, "tool", "root", kind: "tool", start: start.AddSeconds(t), status: "error")))).EnsureSuccessStatusCode();
        }
        await server.WaitForProjectionAsync();

        using (var refused = await server.Client.PostAsync(new Uri("/api/projections/analytics/rebuild", UriKind.Relative), null))
        {
            refused.StatusCode.ShouldBe(HttpStatusCode.Conflict);
            (await refused.Content.ReadAsStringAsync()).ShouldContain("AgentStack:Projections:Leases=None");
        }

        await server.StopAsync();
        await server.RestartAsync(Settings("None"));
        await server.WaitForProjectionAsync();
        using (var accepted = await server.Client.PostAsync(new Uri("/api/projections/analytics/rebuild", UriKind.Relative), null))
            accepted.StatusCode.ShouldBe(HttpStatusCode.Accepted, await accepted.Content.ReadAsStringAsync());
        JsonNode? rebuild = null;
        await Eventually.UntilAsync(async () =>
        {
            var status = await server.Client.GetFromJsonAsync<JsonObject>(new Uri("/api/projections", UriKind.Relative));
            rebuild = status!["projections"]!.AsArray().Single(p => p!["name"]!.GetValue<string>() == "analytics")!["rebuild"];
            return rebuild?["phase"]?.GetValue<string>() is "done" or "failed";
        }, TimeSpan.FromSeconds(120), () => $"the rebuild switches: {rebuild?.ToJsonString()}\n{server.Output}");
        rebuild!["phase"]!.GetValue<string>().ShouldBe("done", rebuild.ToJsonString());
        rebuild["parity"]!["equal"]!.GetValue<bool>().ShouldBeTrue(rebuild.ToJsonString());
        rebuild["parity"]!["spans"]!["rows"]!.GetValue<long>().ShouldBe(12);
        rebuild["parity"]!["traces"]!["rows"]!.GetValue<long>().ShouldBe(6);
    }
}
