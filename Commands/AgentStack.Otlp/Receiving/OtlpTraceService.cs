using AgentStack.Access;
using AgentStack.Commands.Spans.Ingesting;
using Google.Protobuf;
using Grpc.AspNetCore.Server.Model;
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
/// itself with RESOURCE_EXHAUSTED above the deployment's largest body limit, and by <see cref="OtlpIngestor"/>
/// above the project's own. A message that is not valid protobuf (truncated, corrupt, nested too deep) is
/// INVALID_ARGUMENT naming why, as on OTLP/HTTP: the method is bound by <see cref="OtlpTraceMethodProvider"/>, whose
/// request marshaller turns the parser's exception into that status (the generated binding's marshaller would
/// surface it as UNKNOWN, "Exception was thrown by handler"; issue 17, item 5).
/// </summary>
[Authorize(Policy = Scopes.Ingest)]
public sealed class OtlpTraceService(OtlpIngestor ingestor)
{
    public async Task<ExportTraceServiceResponse> Export(ExportTraceServiceRequest request, ServerCallContext context)
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
            IngestOutcome.TooLarge t => throw new RpcException(new Status((StatusCode)t.RpcCode, t.Message)),
            IngestOutcome.Conflicted c => throw new RpcException(new Status((StatusCode)c.RpcCode, c.Message)),
            IngestOutcome.Unavailable u => throw new RpcException(new Status((StatusCode)u.RpcCode, u.Message)),
            _ => throw new InvalidOperationException($"Unknown outcome {outcome}"),
        };
    }
}

/// <summary>Binds <c>TraceService/Export</c> to <see cref="OtlpTraceService"/> with a request marshaller that refuses bad protobuf as INVALID_ARGUMENT.</summary>
public sealed class OtlpTraceMethodProvider : IServiceMethodProvider<OtlpTraceService>
{
    private static readonly Method<ExportTraceServiceRequest, ExportTraceServiceResponse> Export = new(
        MethodType.Unary, TraceService.Descriptor.FullName, "Export",
        Marshallers.Create(request => request.ToByteArray(), ParseRequest),
        Marshallers.Create(response => response.ToByteArray(), ExportTraceServiceResponse.Parser.ParseFrom));

    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<OtlpTraceService> context) =>
        context.AddUnaryMethod(Export, typeof(OtlpTraceService).GetCustomAttributes(inherit: true).ToList(),
            (service, request, call) => service.Export(request, call));

    private static ExportTraceServiceRequest ParseRequest(byte[] bytes)
    {
        try
        {
            return ExportTraceServiceRequest.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument,
                $"the message is not a valid OTLP ExportTraceServiceRequest (truncated or corrupt protobuf): {e.Message}"));
        }
    }
}
