using AgentStack.Commands.Spans.Ingesting;
using AgentStack.Commands.Spans.RecordingSpans;
using AgentStack.Events;
using AgentStack.Otlp.Mapping;
using AgentStack.Otlp.Pricing;
using AgentStack.Security.SensitiveData;
using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace AgentStack.Otlp.Receiving;

/// <summary>What became of an export, whatever the transport; each transport turns it into its own answer.</summary>
public abstract record OtlpOutcome
{
    public sealed record Recorded(int Accepted, int Duplicates) : OtlpOutcome;
    public sealed record Invalid(string Message, Dictionary<string, string[]> Errors) : OtlpOutcome;
    public sealed record Conflicted(string Message, IReadOnlyList<SpanConflict> Conflicts) : OtlpOutcome;
    public sealed record Unavailable(string Message) : OtlpOutcome;
}

/// <summary>
/// The one path from an OTLP export to the event log, shared by OTLP/HTTP and OTLP/gRPC: map, validate with the
/// native collector's limits, then send the very <see cref="RecordSpans"/> command <c>POST /v1/spans</c> sends and
/// answer only from its reply, i.e. once the events are durable (ARCHITECTURE.md, invariant 1).
/// </summary>
public sealed class OtlpIngestor(
    IRequestClient<RecordSpans> bus, IOptions<IngestOptions> options, PriceTable prices, IngestMetrics metrics,
    TimeProvider clock, ILogger<OtlpIngestor> logger, IOptions<MaskingOptions> masking)
{
    public IngestOptions Limits => options.Value;

    /// <summary>
    /// Maps synchronously, then waits for durability in <see cref="SendAsync"/>. Not <c>async</c> itself on purpose:
    /// an async method keeps its parameters in its state machine until it completes, so the parsed protobuf request
    /// (a string per attribute key and value, several objects per attribute) would stay reachable for the whole
    /// durable round trip and be promoted by the gen0 collections of that time. Once mapped, nothing needs it.
    /// </summary>
    public Task<OtlpOutcome> IngestAsync(ExportTraceServiceRequest request, string project, string keyId, CancellationToken ct)
    {
        var limits = options.Value;
        var now = clock.GetUtcNow();
        var mapped = OtlpSpanMapper.Map(request, project, prices, limits, now);
        if (mapped.Errors.Count > 0)
        {
            metrics.Rejected.Add(1);
            return Task.FromResult<OtlpOutcome>(Invalid(mapped.Errors));
        }

        return SendAsync(new RecordSpans(NewId.NextGuid(), project, keyId, now,
            SpanMasking.Apply(mapped.Spans, project, masking.Value)), limits, ct); // issue 15: mask before storage
    }

    private async Task<OtlpOutcome> SendAsync(RecordSpans command, IngestOptions limits, CancellationToken ct)
    {
        try
        {
            var response = await bus.GetResponse<SpansRecorded, SpansConflicted>(command, ct,
                RequestTimeout.After(ms: (int)limits.CommandTimeout.TotalMilliseconds));
            if (response.Is(out Response<SpansRecorded>? recorded))
                return new OtlpOutcome.Recorded(recorded.Message.Accepted, recorded.Message.Duplicates);
            response.Is(out Response<SpansConflicted>? conflicted);
            var conflicts = conflicted!.Message.Conflicts;
            return new OtlpOutcome.Conflicted(
                "spans conflict with what is already recorded; nothing was recorded: " +
                string.Join("; ", conflicts.Select(c => $"span {c.SpanId} of trace {c.TraceId}: {c.Reason}")),
                conflicts);
        }
        catch (Exception e) when (IsUnavailable(e))
        {
            logger.LogWarning(e, "OTLP spans could not be made durable; answering unavailable");
            return new OtlpOutcome.Unavailable("the spans could not be made durable and were not recorded; retry later");
        }
    }

    public static OtlpOutcome.Invalid Invalid(Dictionary<string, string[]> errors) =>
        new("the request is invalid; nothing was recorded: " +
            string.Join("; ", errors.Take(10).SelectMany(e => e.Value.Select(m => $"{e.Key}: {m}")))
            + (errors.Count > 10 ? $"; and {errors.Count - 10} more" : ""), errors);

    /// <summary>The same conditions the native collector answers 503 for.</summary>
    private static bool IsUnavailable(Exception e) => e switch
    {
        RequestTimeoutException => true,
        EventStoreUnavailableException => true,
        RequestFaultException f => f.Fault?.Exceptions.Any(x => x.ExceptionType == typeof(EventStoreUnavailableException).FullName) == true,
        _ => false,
    };
}
