using AgentStack.Commands.Spans.Ingesting;
using AgentStack.Otlp.Mapping;
using AgentStack.Otlp.Pricing;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace AgentStack.Otlp.Receiving;

/// <summary>
/// OTLP's part of ingestion, shared by OTLP/HTTP and OTLP/gRPC: map and validate with the native collector's limits,
/// then hand the spans to the one <see cref="SpanIngestion"/> that <c>POST /v1/spans</c> uses too (issue 13): same
/// command, same bound on the round trip, same outcomes (docs/architecture.md, invariant 1).
/// </summary>
public sealed class OtlpIngestor(SpanIngestion ingestion, PriceTable prices, TimeProvider clock)
{
    public SpanIngestion Ingestion => ingestion;

    /// <summary>
    /// Maps synchronously, then waits for durability. Not <c>async</c> itself on purpose: an async method keeps its
    /// parameters in its state machine until it completes, so the parsed protobuf request (a string per attribute key
    /// and value, several objects per attribute) would stay reachable for the whole durable round trip and be
    /// promoted by the gen0 collections of that time. Once mapped, nothing needs it.
    /// </summary>
    public Task<IngestOutcome> IngestAsync(ExportTraceServiceRequest request, string project, string keyId, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var limits = ingestion.LimitsFor(project);
        // OTLP/HTTP bounded the body already; a gRPC message is bounded by the deployment's largest limit
        // (MaxReceiveMessageSize), so the project's own is checked here (issue 17, item 2).
        if (request.CalculateSize() is var size && size > limits.MaxBodyBytes)
            return Task.FromResult<IngestOutcome>(ingestion.TooLarge(
                $"the message is {size} bytes; the limit is {limits.MaxBodyBytes} bytes (MaxBodyBytes); nothing was recorded. Export smaller batches."));
        var mapped = OtlpSpanMapper.Map(request, project, prices, limits, now);
        if (mapped.Errors.Count > 0)
            return Task.FromResult<IngestOutcome>(ingestion.Invalid(mapped.Errors));
        return ingestion.RecordAsync(project, keyId, now, mapped.Spans, ct);
    }
}
