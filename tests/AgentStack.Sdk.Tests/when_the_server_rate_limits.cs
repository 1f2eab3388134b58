using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AgentStack.Testing;

namespace AgentStack.Sdk.Tests;

/// <summary>A server whose ingestion allows 4 requests per second per key (burst 4).</summary>
public sealed class RateLimitedServerFixture : IAsyncLifetime
{
    public ServerProcess Server { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Server = await ServerProcess.StartAsync(new Dictionary<string, string>
    {
        ["AgentStack__RateLimits__Ingest__PerKey__RequestsPerSecond"] = "4",
        ["AgentStack__RateLimits__Ingest__PerKey__Burst"] = "4",
    });

    public async ValueTask DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>
/// Issue 17 acceptance: the server answers 429 + Retry-After when a key sends faster than its limit, and the
/// SDK backs off as told and loses nothing: every span arrives, none is counted failed or dropped.
/// </summary>
public sealed class when_the_server_rate_limits(RateLimitedServerFixture fixture) : IClassFixture<RateLimitedServerFixture>
{
    private const int Spans = 240;

    /// <summary>Sees every answer the real server gives the SDK (it forwards to a real socket handler).</summary>
    private sealed class Recorder() : DelegatingHandler(new SocketsHttpHandler())
    {
        public ConcurrentQueue<(HttpStatusCode Status, TimeSpan? RetryAfter, DateTimeOffset At)> Answers { get; } = new();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            Answers.Enqueue((response.StatusCode, response.Headers.RetryAfter?.Delta, DateTimeOffset.UtcNow));
            return response;
        }
    }

    [Fact]
    public async Task then_it_answers_429_with_retry_after_and_the_sdk_backs_off_and_loses_nothing()
    {
        var server = fixture.Server;
        using var recorder = new Recorder();
        var options = new AgentStackOptions
        {
            Endpoint = server.BaseAddress,
            ApiKey = ServerProcess.BootstrapKey,
            HttpMessageHandler = recorder,
            MaxBatchSize = 10,
            ExportInterval = TimeSpan.FromMilliseconds(5),
            InitialRetryDelay = TimeSpan.FromMilliseconds(10),
            MaxRetryDelay = TimeSpan.FromSeconds(5),
            // Were 429s spent as attempts, the batches refused more than twice would be lost.
            MaxAttempts = 2,
        };
        // One record per span, so the count below is spans (start records would double it: docs/sdk.md).
        options.StartEventKinds.Clear();
        var client = new AgentStackClient(options);
        await using var _ = client;

        string traceId;
        using (var root = AgentStackTracer.StartSpan(AgentStackSpanKind.Agent, "throttled run"))
        {
            traceId = root.Activity!.TraceId.ToHexString();
            for (var i = 0; i < Spans - 1; i++)
            {
                using var step = AgentStackTracer.StartSpan(AgentStackSpanKind.Tool, $"step {i}");
                step.SetInput(i);
            }
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(120));
        await client.FlushAsync(timeout.Token);

        var stats = client.Statistics;
        stats.Exported.ShouldBe(Spans, $"last error: {stats.LastError}");
        stats.Failed.ShouldBe(0);
        stats.Dropped.ShouldBe(0);
        var answers = recorder.Answers.ToList();
        var throttled = answers.Where(a => a.Status == HttpStatusCode.TooManyRequests).ToList();
        throttled.Count.ShouldBeGreaterThan(0, "24 batches against 4 requests per second");
        throttled.ShouldAllBe(a => a.RetryAfter >= TimeSpan.FromSeconds(1));
        // Backed off: after each 429 the next request came no sooner than about its Retry-After asked.
        for (var i = 0; i < answers.Count - 1; i++)
            if (answers[i].Status == HttpStatusCode.TooManyRequests)
                (answers[i + 1].At - answers[i].At).ShouldBeGreaterThan(answers[i].RetryAfter!.Value * 0.9);

        await server.WaitForProjectionAsync();
        var trace = await server.Client.GetFromJsonAsync<JsonObject>(new Uri($"/api/projects/default/traces/{traceId}", UriKind.Relative));
        trace!["spans"]!.AsArray().Count.ShouldBe(Spans);
    }
}
