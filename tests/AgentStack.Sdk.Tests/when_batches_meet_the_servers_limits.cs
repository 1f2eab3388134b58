using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using AgentStack.Sdk.Exporting;
using AgentStack.Testing;

namespace AgentStack.Sdk.Tests;

/// <summary>A server whose ingestion takes bodies of 1 MiB at most.</summary>
public sealed class SmallBodyServerFixture : IAsyncLifetime
{
    public ServerProcess Server { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Server = await ServerProcess.StartAsync(new Dictionary<string, string>
    {
        ["AgentStack__Ingest__MaxBodyBytes"] = "1048576",
    });

    public async ValueTask DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>
/// What the server refuses costs the spans it refuses, never their batch: a body over the server's limit goes in parts,
/// a span the server refuses fails alone, and fields longer than the server's limits are cut on the way out.
/// </summary>
public sealed class when_batches_meet_the_servers_limits(SmallBodyServerFixture fixture) : IClassFixture<SmallBodyServerFixture>
{
    /// <summary>Sees every answer the real server gives the SDK (it forwards to a real socket handler).</summary>
    private sealed class Recorder() : DelegatingHandler(new SocketsHttpHandler())
    {
        public ConcurrentQueue<HttpStatusCode> Answers { get; } = new();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            Answers.Enqueue(response.StatusCode);
            return response;
        }
    }

    private AgentStackOptions Options(Recorder recorder) => new()
    {
        Endpoint = fixture.Server.BaseAddress,
        ApiKey = ServerProcess.BootstrapKey,
        ExportInterval = TimeSpan.FromMilliseconds(10),
        HttpMessageHandler = recorder,
        // Were a refusal retried, the flush would wait out these delays and the test's timeout.
        InitialRetryDelay = TimeSpan.FromMinutes(5),
        MaxRetryDelay = TimeSpan.FromMinutes(5),
    };

    private static async Task FlushAsync(AgentStackClient client)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        await client.FlushAsync(timeout.Token);
    }

    /// <summary>Thirty spans of 100 KB of input each: 3 MB in one batch of the default size.</summary>
    private static void LargeSpans()
    {
        var context = new string('a', 100_000);
        for (var i = 0; i < 30; i++)
        {
            using var span = AgentStackTracer.StartSpan(AgentStackSpanKind.Llm, $"rag-{i}");
            span.SetInput(context);
        }
    }

    [Fact]
    public async Task then_a_body_the_server_finds_too_large_is_sent_again_in_halves()
    {
        using var recorder = new Recorder();
        var options = Options(recorder);
        options.MaxBatchBytes = int.MaxValue;
        await using var client = new AgentStackClient(options);
        LargeSpans();
        await FlushAsync(client);

        client.Statistics.ShouldSatisfyAllConditions(
            s => s.Exported.ShouldBe(30, s.LastError),
            s => s.Failed.ShouldBe(0));
        recorder.Answers.ShouldContain(HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task then_one_span_larger_than_the_body_limit_fails_at_once_and_its_batch_goes_on()
    {
        using var recorder = new Recorder();
        var options = Options(recorder);
        options.StartEventKinds.Clear();
        await using var client = new AgentStackClient(options);
        for (var i = 0; i < 4; i++)
        {
            using var span = AgentStackTracer.StartSpan(AgentStackSpanKind.Tool, $"call-{i}");
            // 1.2 MB of attributes on one span, within every per-field limit but over the 1 MiB body.
            for (var a = 0; i == 2 && a < 20; a++)
                span.SetAttribute($"page.{a}", new string('z', 60_000));
        }
        await FlushAsync(client);

        client.Statistics.ShouldSatisfyAllConditions(
            s => s.Exported.ShouldBe(3, s.LastError),
            s => s.Failed.ShouldBe(1, "a span alone over the limit is refused for good, not retried"));
    }

    [Fact]
    public async Task then_a_batch_goes_in_requests_of_at_most_max_batch_bytes()
    {
        using var recorder = new Recorder();
        var options = Options(recorder);
        options.MaxBatchBytes = 512 * 1024;
        await using var client = new AgentStackClient(options);
        LargeSpans();
        await FlushAsync(client);

        client.Statistics.Exported.ShouldBe(30, client.Statistics.LastError);
        recorder.Answers.ShouldAllBe(status => status == HttpStatusCode.OK);
        recorder.Answers.Count.ShouldBeGreaterThanOrEqualTo(6, "30 spans of 100 KB in requests of 512 KiB at most");
    }

    [Fact]
    public async Task then_a_span_the_server_refuses_fails_alone()
    {
        using var recorder = new Recorder();
        await using var client = new AgentStackClient(Options(recorder));
        // Input nested deeper than the server takes (MaxDepth 32): the SDK cannot know the deployment's limit.
        JsonNode deep = new JsonArray();
        for (var depth = 0; depth < 40; depth++)
            deep = new JsonArray(deep);
        for (var i = 0; i < 20; i++)
        {
            using var span = AgentStackTracer.StartSpan(AgentStackSpanKind.Llm, $"step-{i}");
            span.SetInput(i == 7 ? deep : JsonValue.Create($"question {i}"));
        }
        await FlushAsync(client);

        client.Statistics.ShouldSatisfyAllConditions(
            s => s.Exported.ShouldBe(19, s.LastError),
            s => s.Failed.ShouldBe(1),
            s => s.LastError.ShouldNotBeNull().ShouldContain("spans["));
        recorder.Answers.ShouldContain(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task then_an_error_message_longer_than_the_server_takes_is_cut_not_refused()
    {
        using var recorder = new Recorder();
        var options = Options(recorder);
        options.StartEventKinds.Clear();
        await using var client = new AgentStackClient(options);
        for (var i = 0; i < 5; i++)
        {
            using var span = AgentStackTracer.StartSpan(AgentStackSpanKind.Tool, $"call-{i}");
            span.SetError(new InvalidOperationException("upstream answered: " + new string('x', 40_000)));
            span.SetAttribute("response", new string('y', 70_000));
        }
        await FlushAsync(client);

        client.Statistics.ShouldSatisfyAllConditions(
            s => s.Exported.ShouldBe(5, s.LastError),
            s => s.Failed.ShouldBe(0));
    }

    [Fact]
    public async Task then_a_completion_the_redaction_hook_drops_leaves_no_start_behind()
    {
        using var recorder = new Recorder();
        var options = Options(recorder);
        options.Redact = span => span.Status == "error" ? null : span;
        await using var client = new AgentStackClient(options);
        for (var i = 0; i < 10; i++)
        {
            using var span = AgentStackTracer.StartSpan(AgentStackSpanKind.Tool, $"flaky-{i}");
            span.SetError("timed out");
        }
        await FlushAsync(client);

        client.Statistics.Filtered.ShouldBe(10, "the completions");
        client.Exporter.StartsAwaitingCompletion.ShouldBe(0);
    }
}

/// <summary>The SDK's estimate of cost from <see cref="AgentStackOptions.ModelPrices"/>, on the models providers answer with.</summary>
public sealed class when_a_model_is_priced
{
    private static readonly ActivitySource Source = new("AgentStack.Tests.Pricing");

    private static SpanData Convert(string? requestModel, string? responseModel)
    {
        var options = new AgentStackOptions();
        options.ModelPrices["gpt-4o-mini"] = new ModelPrice(0.15m, 0.60m);
        options.ModelPrices["gpt-4o"] = new ModelPrice(2.50m, 10m);
        // Read before the listener is added: a source first made while AddActivityListener asks about the others would miss it.
        var source = Source;
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s == source,
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        using var activity = source.StartActivity("chat")!;
        activity.SetTag(AgentStackTags.Kind, AgentStackSpanKind.Llm);
        activity.SetTag(AgentStackTags.RequestModel, requestModel);
        activity.SetTag(AgentStackTags.ResponseModel, responseModel);
        activity.SetTag(AgentStackTags.InputTokens, 1_000_000L);
        activity.SetTag(AgentStackTags.OutputTokens, 1_000_000L);
        activity.Stop();
        return SpanConverter.Convert(activity, options, _ => true);
    }

    [Fact]
    public void then_a_dated_snapshot_is_priced_as_its_model() =>
        Convert("gpt-4o-mini", "gpt-4o-mini-2024-07-18").CostUsd.ShouldBe(0.75m);

    [Fact]
    public void then_the_requested_model_prices_a_response_model_the_table_does_not_know() =>
        Convert("gpt-4o", "some-deployment-name").CostUsd.ShouldBe(12.5m);

    [Fact]
    public void then_the_longest_entry_wins_and_a_router_prefix_is_ignored()
    {
        Convert(null, "openai/gpt-4o-mini").CostUsd.ShouldBe(0.75m);
        Convert(null, "gpt-4o-2024-08-06").CostUsd.ShouldBe(12.5m);
        Convert(null, "gpt-4omni").CostUsd.ShouldBeNull("a prefix counts only up to a separator");
    }
}
