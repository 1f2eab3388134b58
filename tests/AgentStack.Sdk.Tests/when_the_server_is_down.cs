using AgentStack.Testing;

namespace AgentStack.Sdk.Tests;

/// <summary>
/// The instrumented app keeps working while the server is down: spans queue up to the bound, the rest are
/// dropped and counted, memory stays flat; when the server is back on the same address the queue drains.
/// </summary>
public sealed class when_the_server_is_down(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const int QueueSize = 200;
    private const int Spans = 5000;
    private readonly ServerProcess server = fixture.Server;

    [Fact]
    public async Task then_the_app_keeps_working_drops_are_counted_and_the_queue_arrives_when_it_returns()
    {
        await server.KillAsync();
        var options = new AgentStackOptions
        {
            Endpoint = server.BaseAddress,
            ApiKey = ServerProcess.BootstrapKey,
            MaxQueueSize = QueueSize,
            MaxBatchSize = 50,
            ExportInterval = TimeSpan.FromMilliseconds(20),
            InitialRetryDelay = TimeSpan.FromMilliseconds(50),
            MaxRetryDelay = TimeSpan.FromMilliseconds(250),
            MaxAttempts = int.MaxValue,
        };
        // One record per span, so the counters count spans: tool spans would otherwise also send a start record (issue 16).
        options.StartEventKinds.Clear();
        var client = new AgentStackClient(options);
        await using var _ = client;

        // Each span carries 20 KB of payload: kept unbounded, 5000 of them would hold 100 MB.
        var payload = new string('x', 20_000);
        GC.Collect();
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var traceIds = new List<string>();
        for (var i = 0; i < Spans; i++)
        {
            using var span = AgentStackTracer.StartSpan(AgentStackSpanKind.Tool, $"call {i}");
            span.SetInput(payload + i).SetOutput(i);
            traceIds.Add(span.Activity!.TraceId.ToHexString());
        }
        var grown = GC.GetTotalMemory(forceFullCollection: true) - before;

        // The exporter works on its own schedule: wait until it has tried the dead server at least once.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (client.Statistics.LastError is null)
        {
            DateTime.UtcNow.ShouldBeLessThan(deadline, "the exporter never reported a failed export");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        var down = client.Statistics;
        down.Enqueued.ShouldBe(Spans);
        down.Exported.ShouldBe(0);
        down.Queued.ShouldBeLessThanOrEqualTo(QueueSize);
        down.Dropped.ShouldBeGreaterThanOrEqualTo(Spans - QueueSize - 50, "all but the queue and one batch in flight are dropped");
        down.LastError.ShouldNotBeNull().ShouldContain("/v1/spans");
        grown.ShouldBeLessThan(40L * 1024 * 1024, $"memory grew by {grown} bytes");

        await server.RestartAsync();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        await client.FlushAsync(timeout.Token);

        var up = client.Statistics;
        up.Failed.ShouldBe(0);
        up.Queued.ShouldBe(0);
        up.Exported.ShouldBe(Spans - up.Dropped);
        up.Exported.ShouldBeGreaterThanOrEqualTo(QueueSize);

        // Oldest spans were dropped first: the newest ones are the ones that arrived.
        foreach (var traceId in traceIds.TakeLast(10))
        {
            var trace = await StoredTrace.GetAsync(server, traceId);
            var span = trace.Root;
            StoredTrace.Kind(span).ShouldBe("tool");
            span["input"]!.GetValue<string>().Length.ShouldBeGreaterThan(20_000);
        }
    }
}
