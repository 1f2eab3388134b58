using System.Diagnostics.Metrics;
using AgentStack.Commands.Spans.Ingesting;
using AgentStack.Commands.Spans.RecordingSpans;
using AgentStack.Events;
using AgentStack.Security.SensitiveData;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace AgentStack.UnitTests.Ingesting;

/// <summary>
/// The ingestion service's answers when the batch cannot be confirmed durable (docs/ingestion.md): 503 with Retry-After
/// and gRPC UNAVAILABLE, never a 500, whether the store is down, the wait ran out, or other writers kept winning the
/// trace's stream.
/// </summary>
public sealed class when_the_store_cannot_confirm_a_batch : IDisposable
{
    private readonly ServiceProvider services = new ServiceCollection().AddMetrics().BuildServiceProvider();

    private SpanIngestion Ingestion(ISpanRecorder recorder, TimeSpan? timeout = null) => new(recorder,
        new FixedOptions(new IngestOptions { CommandTimeout = timeout ?? TimeSpan.FromSeconds(30) }),
        new IngestMetrics(services.GetRequiredService<IMeterFactory>()), Options.Create(new MaskingOptions()), NullLogger<SpanIngestion>.Instance);

    private static readonly SpanRecord Span = new("t1", "s1", null, "step", SpanKinds.Llm, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow,
        SpanStatuses.Ok, null, null, null, null, null, null, null, null, null);

    public static TheoryData<string> Failures => ["store unavailable", "stream lost to other writers"];

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task then_a_refused_append_is_unavailable(string failure)
    {
        Exception thrown = failure == "store unavailable"
            ? new EventStoreUnavailableException("the disk is full", new IOException("ENOSPC"))
            : new WrongExpectedVersionException("trace-p-t1", 3, 4);

        var outcome = await Ingestion(new Failing(thrown)).RecordAsync("p", "key_1", DateTimeOffset.UtcNow, [Span], TestContext.Current.CancellationToken);

        var unavailable = outcome.ShouldBeOfType<IngestOutcome.Unavailable>();
        (unavailable.HttpStatus, unavailable.RpcCode).ShouldBe((503, RpcCodes.Unavailable));
        unavailable.Message.ShouldContain("Retry-After");
    }

    [Fact]
    public async Task then_a_batch_not_confirmed_within_the_command_timeout_is_unavailable()
    {
        var outcome = await Ingestion(new Silent(), TimeSpan.FromMilliseconds(200))
            .RecordAsync("p", "key_1", DateTimeOffset.UtcNow, [Span], TestContext.Current.CancellationToken);

        outcome.ShouldBeOfType<IngestOutcome.Unavailable>().Message.ShouldContain("duplicates");
    }

    public void Dispose() => services.Dispose();

    private sealed class Failing(Exception e) : ISpanRecorder
    {
        public Task<RecordSpansReply> RecordAsync(RecordSpans command, CancellationToken ct) => Task.FromException<RecordSpansReply>(e);
    }

    /// <summary>A recorder that never answers and ignores cancellation, as a send to a broker that is away does.</summary>
    private sealed class Silent : ISpanRecorder
    {
        public Task<RecordSpansReply> RecordAsync(RecordSpans command, CancellationToken ct) => new TaskCompletionSource<RecordSpansReply>().Task;
    }

    private sealed class FixedOptions(IngestOptions value) : IOptionsMonitor<IngestOptions>
    {
        public IngestOptions CurrentValue => value;

        public IngestOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<IngestOptions, string?> listener) => null;
    }
}
