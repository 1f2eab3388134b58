using AgentStack.Testing;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace AgentStack.Otlp.Tests.Exporting;

/// <summary>A tracer provider exporting the given sources to the server with the real OTLP exporter, span by span.</summary>
internal static class Telemetry
{
    public static TracerProvider ExportTo(OtlpServer otlp, OtlpExportProtocol protocol, params string[] sources) =>
        Sdk.CreateTracerProviderBuilder()
            .AddSource(sources)
            .ConfigureResource(r => r.AddService("otlp-framework-test"))
            .AddOtlpExporter(o =>
            {
                o.Protocol = protocol;
                o.Endpoint = protocol == OtlpExportProtocol.Grpc ? otlp.GrpcEndpoint : otlp.HttpTracesEndpoint;
                o.Headers = $"authorization=Bearer {ServerProcess.BootstrapKey}";
                o.ExportProcessorType = ExportProcessorType.Simple;
            })
            .Build();
}
