using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AgentStack.Testing;
using static AgentStack.Testing.Spans;

namespace AgentStack.EndToEndTests.Ingesting;

/// <summary>Invariants 1 and 4: what was acknowledged survives SIGKILL; projections neither lose nor double rows.</summary>
public sealed class when_the_server_is_killed : IAsyncLifetime
{
    private ServerProcess server = null!;

    public async ValueTask InitializeAsync() => server = await ServerProcess.StartAsync();

    public async ValueTask DisposeAsync() => await server.DisposeAsync();

    [Fact]
    public async Task then_every_acknowledged_span_is_there_after_restart_exactly_once()
    {
        var acknowledged = new System.Collections.Concurrent.ConcurrentBag<string>();
        using var stop = new CancellationTokenSource();
        var enoughAcks = new TaskCompletionSource();

        // Four writers send batches of 10 traces × 2 spans until the server dies under them.
        async Task WriterAsync()
        {
            while (!stop.IsCancellationRequested)
            {
                var traces = Enumerable.Range(0, 10).Select(_ => NewId()).ToList();
                var start = DateTimeOffset.UtcNow.AddMinutes(-1);
                var body = Batch(traces.SelectMany(t => new[]
                {
                    Span(t, "root", kind: "agent", start: start, end: start.AddSeconds(2), input: "{\"n\":1}"),
                    Span(t, "child", parent: "root", start: start, end: start.AddSeconds(1), output: "\"ok\""),
                }).ToArray());
                try
                {
                    using var response = await server.Client.PostSpansAsync(body);
                    if (response.StatusCode != HttpStatusCode.OK)
                        continue;
                    foreach (var t in traces)
                        acknowledged.Add(t);
                    if (acknowledged.Count >= 400)
                        enoughAcks.TrySetResult();
                }
                catch (HttpRequestException)
                {
                    return; // the server is gone: whatever was not acknowledged may be lost
                }
            }
        }

        var writers = Enumerable.Range(0, 4).Select(_ => Task.Run(WriterAsync)).ToArray();
        await enoughAcks.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await server.KillAsync();
        await stop.CancelAsync();
        await Task.WhenAll(writers);

        await server.RestartAsync();
        var acked = acknowledged.Distinct().ToList();
        foreach (var trace in acked.Take(50))
        {
            var replay = await server.Client.GetStringAsync(new Uri($"/api/projects/default/traces/{trace}/replay", UriKind.Relative));
            replay.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length.ShouldBe(2, trace);
        }

        await server.WaitForProjectionAsync();
        var listed = new Dictionary<string, int>();
        string? cursor = null;
        do
        {
            var page = await server.Client.GetFromJsonAsync<JsonObject>(new Uri(
                "/api/projects/default/traces?limit=500" + (cursor is null ? "" : $"&cursor={cursor}"), UriKind.Relative));
            foreach (var item in page!["items"]!.AsArray())
                listed.Add(item!["traceId"]!.GetValue<string>(), item["spanCount"]!.GetValue<int>());
            cursor = page["next"]?.GetValue<string>();
        } while (cursor is not null);

        acked.ShouldAllBe(t => listed.ContainsKey(t));
        listed.Values.ShouldAllBe(count => count == 2);

        // A graceful restart re-reads the checkpoint: nothing is projected twice.
        await server.StopAsync();
        await server.RestartAsync();
        await server.WaitForProjectionAsync();
        var after = await server.Client.GetFromJsonAsync<JsonObject>(new Uri("/api/projects/default/traces?limit=500", UriKind.Relative));
        after!["items"]!.AsArray().ShouldAllBe(i => i!["spanCount"]!.GetValue<int>() == 2);
    }
}
