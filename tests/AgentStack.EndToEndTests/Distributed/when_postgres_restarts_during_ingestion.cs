using System.Net;
using AgentStack.Testing;

namespace AgentStack.EndToEndTests.Distributed;

/// <summary>
/// Issue 4: PostgreSQL (the Marten event log) goes down during ingestion and comes back. Meanwhile
/// the collector answers 503 + Retry-After; afterwards it records again without a restart, every
/// acknowledged span is in the log once, and the projection catches up.
/// </summary>
[Collection(RabbitMq.Collection)]
public sealed class when_postgres_restarts_during_ingestion : IAsyncLifetime
{
    private ServerProcess server = null!;

    public async ValueTask InitializeAsync() => server = await ServerProcess.StartAsync(
        new(RabbitMq.BusSettings().Concat(Postgres.EventStoreSettings(Postgres.NewSchema())).ToDictionary())
        {
            ["AgentStack__Ingest__CommandTimeout"] = "00:00:05",
        });

    public async ValueTask DisposeAsync()
    {
        await RabbitMq.ServicesAsync("postgres-start");
        await server.DisposeAsync();
        // This process's pooled connections died with the restart: the next test of the collection must not get one.
        Npgsql.NpgsqlConnection.ClearAllPools();
    }

    [Fact]
    public async Task then_it_answers_503_meanwhile_recovers_alone_and_loses_nothing_acknowledged()
    {
        await using var load = IngestionLoad.Start(writersPerClient: 3, server.Client);
        await load.AcknowledgedMoreAsync(20, () => server.Output);

        await RabbitMq.ServicesAsync("postgres-stop");
        await Eventually.UntilAsync(() => !load.Refusals.IsEmpty, TimeSpan.FromSeconds(30), () => server.Output);
        await RabbitMq.ServicesAsync("postgres-start");
        await load.RecoveredAsync(TimeSpan.FromSeconds(90));
        await load.AcknowledgedMoreAsync(20, () => server.Output);
        await load.StopAsync();

        load.Refusals.ShouldAllBe(status => status == HttpStatusCode.ServiceUnavailable);
        load.RetryAfters.ShouldAllBe(retryAfter => !string.IsNullOrEmpty(retryAfter));
        await load.ShouldAllBeRecordedOnceAsync(server.Client);
        await server.WaitForProjectionAsync();
        await load.ShouldAllBeProjectedOnceAsync(server.Client);
    }
}
