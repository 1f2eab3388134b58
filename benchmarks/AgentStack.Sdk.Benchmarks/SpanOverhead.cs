using System.Diagnostics;
using BenchmarkDotNet.Attributes;

namespace AgentStack.Sdk.Benchmarks;

/// <summary>
/// What one span costs on the caller's thread: start, one tag, stop. The SDK span is compared with a bare
/// <see cref="ActivitySource"/> span, both with a listener that samples (the SDK's own client, whose stop
/// callback enqueues the span for the background exporter; agent, chain and tool spans also enqueue their start) and
/// with none (nothing may be allocated then).
/// </summary>
[MemoryDiagnoser]
public class SpanOverhead
{
    private const string BareName = "Benchmarks.Bare";
    private static readonly ActivitySource Bare = new(BareName);
    private static readonly ActivitySource Unheard = new("Benchmarks.Unheard");
    private ActivityListener? bareListener;
    private AgentStackClient? client;

    [Params(false, true)]
    public bool Sampled { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        if (!Sampled)
            return;
        // The bare baseline gets a listener that samples and does nothing on stop.
        bareListener = new ActivityListener
        {
            ShouldListenTo = static s => s.Name == BareName,
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = static _ => { },
        };
        ActivitySource.AddActivityListener(bareListener);
        // The SDK's client exports to a port where nothing listens: the exporter retries in the background
        // and the queue stays full, so every stop pays the enqueue (and the drop of the oldest span).
        client = new AgentStackClient(new AgentStackOptions
        {
            Endpoint = new Uri("http://127.0.0.1:9"),
            MaxQueueSize = 10_000,
            InitialRetryDelay = TimeSpan.FromSeconds(30),
            MaxRetryDelay = TimeSpan.FromSeconds(30),
            ShutdownTimeout = TimeSpan.Zero,
        });
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        bareListener?.Dispose();
        client?.Dispose();
    }

    [Benchmark(Baseline = true, Description = "bare ActivitySource span")]
    public void BareSpan()
    {
        using var activity = (Sampled ? Bare : Unheard).StartActivity("llm");
        activity?.SetTag("gen_ai.request.model", "gpt-4o-mini");
    }

    [Benchmark(Description = "AgentStack span")]
    public void SdkSpan()
    {
        using var span = AgentStackTracer.StartSpan(AgentStackSpanKind.Llm, "chat");
        span.SetModel("gpt-4o-mini");
    }

    /// <summary>
    /// An agent span: its kind is in <see cref="AgentStackOptions.StartEventKinds"/> (the default), so its start is
    /// enqueued too (issue 16): two channel writes per span instead of one.
    /// </summary>
    [Benchmark(Description = "AgentStack agent span (start record on)")]
    public void SdkAgentSpan()
    {
        using var span = AgentStackTracer.StartSpan(AgentStackSpanKind.Agent, "agent");
        span.SetModel("gpt-4o-mini");
    }
}
