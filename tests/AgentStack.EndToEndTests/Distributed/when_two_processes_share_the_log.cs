using System.Collections.Concurrent;
using System.Net;
using AgentStack.Testing;
using static AgentStack.Testing.Spans;

namespace AgentStack.EndToEndTests.Distributed;

/// <summary>
/// Issue 4: two AgentStack processes share one Marten/PostgreSQL event log and one RabbitMQ queue of
/// RecordSpans commands; either process's handler may record a batch the other collected. One is killed
/// with SIGKILL mid-ingestion: its unacknowledged messages are redelivered to the other, and nothing
/// acknowledged is lost or doubled. Each process projects the shared log into its own analytics store.
/// </summary>
[Collection(RabbitMq.Collection)]
public sealed class when_two_processes_share_the_log : IAsyncLifetime
{
    private readonly string schema = "e2e_" + NewId()[..12];
    private ServerProcess first = null!;
    private ServerProcess second = null!;

    private readonly string queuePrefix = "t" + NewId()[..8];

    // Both processes on the same queues: that sharing is the point of the test.
    private Dictionary<string, string> Settings() =>
        RabbitMq.BusSettings(queuePrefix).Concat(Postgres.EventStoreSettings(schema)).ToDictionary();

    public async ValueTask InitializeAsync()
    {
        first = await ServerProcess.StartAsync(Settings());
        second = await ServerProcess.StartAsync(Settings());
    }

    public async ValueTask DisposeAsync()
    {
        await first.DisposeAsync();
        await second.DisposeAsync();
    }

    [Fact]
    public async Task then_a_killed_process_loses_nothing_acknowledged_and_doubles_nothing()
    {
        var acknowledged = new ConcurrentBag<string>();
        using var stop = new CancellationTokenSource();
        var killed = false;

        async Task WriterAsync(ServerProcess through)
        {
            while (!stop.IsCancellationRequested)
            {
                var traces = Enumerable.Range(0, 5).Select(_ => NewId()).ToList();
                var start = DateTimeOffset.UtcNow.AddMinutes(-1);
                var body = Batch(traces.SelectMany(t => new[]
                {
                    Span(t, "root", kind: "agent", start: start, end: start.AddSeconds(2)),
                    Span(t, "child", parent: "root", start: start, end: start.AddSeconds(1), output: "{\"ok\": true}"),
                }).ToArray());
                try
                {
                    using var response = await through.Client.PostSpansAsync(body);
                    if (response.StatusCode == HttpStatusCode.OK)
                        foreach (var t in traces)
                            acknowledged.Add(t);
                }
                catch (HttpRequestException) when (Volatile.Read(ref killed))
                {
                    return;
                }
            }
        }

        // Writers on both; the second process is killed while batches are in flight on its handler.
        var writers = new[] { WriterAsync(first), WriterAsync(first), WriterAsync(second), WriterAsync(second) };
        await Eventually.UntilAsync(() => acknowledged.Count >= 300, TimeSpan.FromSeconds(90));
        Volatile.Write(ref killed, true);
        await second.KillAsync();
        var afterKill = acknowledged.Count;
        await Eventually.UntilAsync(() => acknowledged.Count >= afterKill + 100, TimeSpan.FromSeconds(90)); // the survivor keeps recording alone
        await stop.CancelAsync();
        await Task.WhenAll(writers);

        // Every acknowledged trace is in the shared log exactly once (2 events), readable by the survivor.
        var acked = acknowledged.Distinct().ToList();
        foreach (var trace in acked)
        {
            var replay = await first.Client.GetStringAsync(new Uri($"/api/projects/default/traces/{trace}/replay", UriKind.Relative));
            replay.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length.ShouldBe(2, trace);
        }

        // The restarted process catches up from its own checkpoint on the shared log.
        await second.RestartAsync(Settings());
        await first.WaitForProjectionAsync();
        await second.WaitForProjectionAsync();
        foreach (var server in new[] { first, second })
        {
            var counts = await IngestionLoad.TraceSpanCountsAsync(server.Client);
            acked.ShouldAllBe(t => counts.ContainsKey(t));
            counts.Values.ShouldAllBe(c => c == 2);
        }
    }
}
