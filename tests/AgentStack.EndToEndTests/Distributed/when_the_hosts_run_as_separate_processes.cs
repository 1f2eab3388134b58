using AgentStack.Testing;
using Npgsql;

namespace AgentStack.EndToEndTests.Distributed;

/// <summary>
/// Issue 4, end to end through the distributed hosts as separate processes: HTTP → collector (a
/// commands host that only collects) → RabbitMQ → two handler processes → Marten → two projection
/// workers sharing the log's parts through leases → ClickHouse (the chDB HTTP stand-in here) → the
/// queries host. A handler and then a projection worker are killed with SIGKILL during ingestion:
/// nothing acknowledged is lost or doubled, and the surviving worker takes over the dead one's parts.
/// </summary>
[Collection(RabbitMq.Collection)]
public sealed class when_the_hosts_run_as_separate_processes : IAsyncLifetime
{
    private const int Parts = 4;
    private readonly string schema = Postgres.NewSchema();
    private ChDbHttpServerProcess clickHouse = null!;
    private readonly List<ServerProcess> hosts = [];
    private ServerProcess collector = null!;
    private ServerProcess handler1 = null!;
    private ServerProcess handler2 = null!;
    private ServerProcess worker1 = null!;
    private ServerProcess worker2 = null!;
    private ServerProcess queries = null!;

    private Dictionary<string, string> Settings(params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string>(RabbitMq.BusSettings("t" + schema[4..12]))
        {
            ["AgentStack__Analytics__Provider"] = "ClickHouse",
            ["ConnectionStrings__ClickHouse"] = clickHouse.ConnectionString,
            ["AgentStack__Access__Provider"] = "Marten",
            ["AgentStack__Projections__Partitions"] = Parts.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["AgentStack__Projections__Leases"] = "Postgres",
            ["AgentStack__Projections__LeaseSchema"] = schema,
            // Short leases: a dead worker's parts move within seconds, not the default 15 s.
            ["AgentStack__Projections__LeaseDuration"] = "00:00:03",
        };
        foreach (var (key, value) in Postgres.EventStoreSettings(schema).Concat(extra.Select(e => KeyValuePair.Create(e.Key, e.Value))))
            settings[key] = value;
        return settings;
    }

    private async Task<ServerProcess> StartAsync(AgentStackHost host, params (string Key, string Value)[] extra)
    {
        var process = await ServerProcess.StartAsync(Settings(extra), host);
        hosts.Add(process);
        return process;
    }

    public async ValueTask InitializeAsync()
    {
        clickHouse = await ChDbHttpServerProcess.StartAsync();
        collector = await StartAsync(AgentStackHost.Commands, ("AgentStack__Bus__RunHandlers", "false"));
        handler1 = await StartAsync(AgentStackHost.Commands);
        handler2 = await StartAsync(AgentStackHost.Commands);
        worker1 = await StartAsync(AgentStackHost.Projections, ("AgentStack__Projections__WorkerId", "worker-1"));
        worker2 = await StartAsync(AgentStackHost.Projections, ("AgentStack__Projections__WorkerId", "worker-2"));
        queries = await StartAsync(AgentStackHost.Queries);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var host in hosts)
            await host.DisposeAsync();
        await clickHouse.DisposeAsync();
    }

    [Fact]
    public async Task then_killed_handlers_and_workers_lose_nothing_acknowledged_and_double_nothing()
    {
        string Logs() => string.Join("\n", hosts.Select(h => $"--- {h.Host} :{h.Port}\n{h.Output}"));
        await using var load = IngestionLoad.Start(writersPerClient: 4, collector.Client);
        await load.AcknowledgedMoreAsync(200, Logs);
        await Eventually.UntilAsync(() => LeaseHolders().Values.SelectMany(h => h.Keys).Distinct().Count() == 2,
            TimeSpan.FromSeconds(60), () => "both workers hold parts\n" + Logs());

        await handler2.KillAsync();
        await load.AcknowledgedMoreAsync(200, Logs);
        await worker2.KillAsync();
        await load.AcknowledgedMoreAsync(200, Logs);
        await load.StopAsync();

        // The survivor holds every part of every projection once the dead worker's leases expire.
        await Eventually.UntilAsync(() => LeaseHolders() is { Count: > 0 } projections
                && projections.Values.All(holders => holders.Count == 1 && holders.GetValueOrDefault("worker-1") == Parts),
            TimeSpan.FromSeconds(60), () => $"worker-1 holds every part: {Describe(LeaseHolders())}\n" + Logs());
        load.Refusals.ShouldBeEmpty();
        await load.ShouldAllBeRecordedOnceAsync(queries.Client);
        await queries.WaitForProjectionAsync();
        await load.ShouldAllBeProjectedOnceAsync(queries.Client);
    }

    /// <summary>
    /// For each projection a worker runs (from the workers' heartbeats), its live lease holders and how many
    /// parts each holds; a projection whose parts nobody holds has no holders.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "test SQL over the test class's own schema name (generated, an identifier)")]
    private Dictionary<string, Dictionary<string, int>> LeaseHolders()
    {
        using var connection = new NpgsqlConnection(Postgres.ConnectionString);
        connection.Open();
        using var command = new NpgsqlCommand($"""
            SELECT w.projection, l.owner, count(l.partition)
            FROM (SELECT DISTINCT projection FROM {schema}.projection_workers) AS w
            LEFT JOIN {schema}.projection_leases AS l
                ON l.projection = w.projection AND l.owner IS NOT NULL AND l.expires_at > now()
            GROUP BY w.projection, l.owner
            """, connection);
        try
        {
            using var reader = command.ExecuteReader();
            var projections = new Dictionary<string, Dictionary<string, int>>();
            while (reader.Read())
            {
                var holders = projections.TryGetValue(reader.GetString(0), out var known) ? known : projections[reader.GetString(0)] = [];
                if (!reader.IsDBNull(1))
                    holders[reader.GetString(1)] = (int)reader.GetInt64(2);
            }
            return projections;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            return [];
        }
    }

    private static string Describe(Dictionary<string, Dictionary<string, int>> projections) =>
        string.Join("; ", projections.Select(p => $"{p.Key}: {string.Join(", ", p.Value.Select(h => $"{h.Key}={h.Value}"))}"));
}
