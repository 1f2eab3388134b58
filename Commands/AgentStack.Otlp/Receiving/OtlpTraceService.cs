using AgentStack.Access;
using AgentStack.Commands.Spans.Ingesting;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace AgentStack.Otlp.Receiving;

/// <summary>
/// OTLP/gRPC <c>opentelemetry.proto.collector.trace.v1.TraceService/Export</c>. The key comes in the
/// <c>authorization: Bearer …</c> or <c>x-api-key</c> metadata, which gRPC carries as HTTP/2 headers, so the same
/// ApiKey scheme and ingest policy apply. Status codes are the outcome's google.rpc code (<see cref="IngestOutcome"/>,
/// the OTLP spec's gRPC failure table): invalid data INVALID_ARGUMENT (not retryable), a durable-append failure or
/// timeout UNAVAILABLE (retryable), a conflicting re-send ALREADY_EXISTS; oversized messages are refused by gRPC
/// itself with RESOURCE_EXHAUSTED.
/// </summary>
[Authorize(Policy = Scopes.Ingest)]
public sealed class OtlpTraceService(OtlpIngestor ingestor) : TraceService.TraceServiceBase
{
    public override async Task<ExportTraceServiceResponse> Export(ExportTraceServiceRequest request, ServerCallContext context)
    {
        var (project, keyId) = context.GetHttpContext().User.ApiKey();
        var outcome = await ingestor.IngestAsync(request, project, keyId, context.CancellationToken);
        return outcome switch
        {
            IngestOutcome.Recorded { Duplicates: > 0 } r => new ExportTraceServiceResponse
            {
                PartialSuccess = new ExportTracePartialSuccess
                {
                    ErrorMessage = $"{r.Duplicates} of {r.Accepted + r.Duplicates} spans were already recorded; they were accepted as idempotent re-sends",
                },
            },
            IngestOutcome.Recorded => new ExportTraceServiceResponse(),
            IngestOutcome.Invalid i => throw new RpcException(new Status((StatusCode)i.RpcCode, i.Message)),
            IngestOutcome.Conflicted c => throw new RpcException(new Status((StatusCode)c.RpcCode, c.Message)),
            IngestOutcome.Unavailable u => throw new RpcException(new Status((StatusCode)u.RpcCode, u.Message)),
            _ => throw new InvalidOperationException($"Unknown outcome {outcome}"),
        };
    }
}
