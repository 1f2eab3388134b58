using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AgentStack.Testing;
using static AgentStack.Testing.Spans;

namespace AgentStack.EndToEndTests.Distributed;

/// <summary>
/// Writers posting one finished single-span trace per request until stopped, recording which traces
/// were acknowledged (200) and what the refusals said. The fault tests prove their invariants on it:
/// every acknowledged trace recorded exactly once, refusals only 503 with Retry-After.
/// </summary>
public sealed class IngestionLoad : IAsyncDisposable
{
    private readonly CancellationTokenSource stop = new();
    private readonly Task[] writers;
    private volatile bool faultOver;
    private readonly TaskCompletionSource recovered = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private IngestionLoad(IReadOnlyList<HttpClient> clients, int writersPerClient) =>
        writers = clients.SelectMany(c => Enumerable.Range(0, writersPerClient).Select(_ => Task.Run(() => WriteAsync(c)))).ToArray();

    public ConcurrentBag<string> Acknowledged { get; } = [];

    public ConcurrentBag<HttpStatusCode> Refusals { get; } = [];

    public ConcurrentBag<string?> RetryAfters { get; } = [];

    /// <summary>Connection errors: a killed process's clients see them, and they acknowledge nothing.</summary>
    public int ConnectionErrors => connectionErrors;

    private int connectionErrors;

    public static IngestionLoad Start(int writersPerClient, params HttpClient[] clients) => new(clients, writersPerClient);

    /// <summary>Waits until <paramref name="count"/> more traces than now have been acknowledged.</summary>
    public Task AcknowledgedMoreAsync(int count, Func<string>? describe = null)
    {
        var target = Acknowledged.Count + count;
        return Eventually.UntilAsync(() => Acknowledged.Count >= target, TimeSpan.FromSeconds(90), describe);
    }

    /// <summary>Marks the fault as over and waits for a request acknowledged after that.</summary>
    public Task RecoveredAsync(TimeSpan timeout)
    {
        faultOver = true;
        return recovered.Task.WaitAsync(timeout);
    }

    public async Task StopAsync()
    {
        await stop.CancelAsync();
        await Task.WhenAll(writers);
    }

    private async Task WriteAsync(HttpClient client)
    {
        while (!stop.IsCancellationRequested)
        {
            var trace = NewId();
            var start = DateTimeOffset.UtcNow.AddMinutes(-1);
            try
            {
                using var response = await client.PostSpansAsync(Batch(Span(trace, "root", start: start, end: start.AddSeconds(1))));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    Acknowledged.Add(trace);
                    if (faultOver)
                        recovered.TrySetResult();
                }
                else
                {
                    Refusals.Add(response.StatusCode);
                    RetryAfters.Add(response.Headers.RetryAfter?.ToString());
                }
            }
            catch (HttpRequestException)
            {
                Interlocked.Increment(ref connectionErrors);
                await Task.Delay(100);
            }
        }
    }

    /// <summary>Every acknowledged trace is in the log exactly once: its replay holds its one event.</summary>
    public async Task ShouldAllBeRecordedOnceAsync(HttpClient reader)
    {
        var events = new Dictionary<string, int>();
        foreach (var trace in Acknowledged.Distinct())
        {
            using var response = await reader.GetAsync(new Uri($"/api/projects/default/traces/{trace}/replay", UriKind.Relative));
            events[trace] = response.StatusCode == HttpStatusCode.NotFound
                ? 0
                : (await response.EnsureSuccessStatusCode().Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
        }
        events.Where(e => e.Value != 1).ShouldBeEmpty($"of {events.Count} acknowledged traces, these have not exactly one event");
    }

    /// <summary>Every acknowledged trace is in the analytics tables once, with its one span.</summary>
    public async Task ShouldAllBeProjectedOnceAsync(HttpClient reader)
    {
        var counts = await TraceSpanCountsAsync(reader);
        Acknowledged.Where(t => !counts.ContainsKey(t)).ShouldBeEmpty("acknowledged but not projected");
        if (counts.FirstOrDefault(c => c.Value != 1) is { Key: not null } wrong)
            Assert.Fail($"{counts.Count(c => c.Value != 1)} of {counts.Count} traces do not have one span, e.g. " +
                await reader.GetStringAsync(new Uri($"/api/projects/default/traces/{wrong.Key}", UriKind.Relative)));
    }

    public static async Task<Dictionary<string, int>> TraceSpanCountsAsync(HttpClient reader)
    {
        var counts = new Dictionary<string, int>();
        string? cursor = null;
        do
        {
            var page = await reader.GetFromJsonAsync<JsonObject>(new Uri(
                "/api/projects/default/traces?limit=500" + (cursor is null ? "" : $"&cursor={cursor}"), UriKind.Relative));
            foreach (var item in page!["items"]!.AsArray())
                counts.Add(item!["traceId"]!.GetValue<string>(), item["spanCount"]!.GetValue<int>());
            cursor = page["next"]?.GetValue<string>();
        } while (cursor is not null);
        return counts;
    }

    public async ValueTask DisposeAsync()
    {
        if (!stop.IsCancellationRequested)
            await StopAsync();
        stop.Dispose();
    }
}
