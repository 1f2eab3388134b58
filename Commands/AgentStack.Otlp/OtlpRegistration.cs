using AgentStack.Commands.Spans.Ingesting;
using AgentStack.Otlp.Pricing;
using AgentStack.Otlp.Receiving;
using Grpc.AspNetCore.Server;
using Grpc.AspNetCore.Server.Model;
using Grpc.Reflection;
using OpenTelemetry.Proto.Collector.Trace.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace AgentStack.Otlp;

public static class OtlpRegistration
{
    /// <summary>
    /// OTLP ingestion: the shared <see cref="OtlpIngestor"/>, the price table, gRPC and its h2c endpoint. Needs the
    /// collector (<c>AddCollector</c>) and the bus with <c>AddRecordSpans</c>, which the host wires.
    /// </summary>
    public static IServiceCollection AddOtlp(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection(OtlpOptions.Section);
        services.AddOptions<OtlpOptions>().Bind(section).Configure(o => o.GrpcPortConfigured = section["GrpcPort"] is { Length: > 0 });
        services.AddSingleton(sp => PriceTable.Load(sp.GetRequiredService<IOptions<OtlpOptions>>().Value.PriceTablePath));
        services.AddSingleton<OtlpIngestor>();
        services.AddSingleton<OtlpKestrelSetup>();
        services.AddSingleton<IConfigureOptions<KestrelServerOptions>>(sp => sp.GetRequiredService<OtlpKestrelSetup>());
        services.AddSingleton<IConfigureOptions<SocketTransportOptions>>(sp => sp.GetRequiredService<OtlpKestrelSetup>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IServiceMethodProvider<OtlpTraceService>, OtlpTraceMethodProvider>());
        services.AddGrpc(o =>
        {
            // The same ceiling as OTLP/HTTP bodies, the largest any project has (a project's own smaller limit is
            // checked by OtlpIngestor); gRPC answers RESOURCE_EXHAUSTED above it.
            var deployment = configuration.GetSection(IngestOptions.Section).GetValue<long?>("MaxBodyBytes") ?? new IngestOptions().MaxBodyBytes;
            var largest = configuration.GetSection("AgentStack:Projects").GetChildren()
                .Select(p => configuration.GetSection(IngestOptions.ProjectSection(p.Key)).GetValue<long?>("MaxBodyBytes") ?? 0)
                .Append(deployment).Max();
            o.MaxReceiveMessageSize = (int)Math.Min(int.MaxValue, largest);
            o.EnableDetailedErrors = false;
        });
        // Lists the gRPC services (names and descriptors only; OTLP's are public anyway), so clients and the isolation
        // matrix see every gRPC method the server has (issue 17, item 4).
        // Registered before AddGrpcReflection (which only adds its own if none is there): its discovery lists only
        // services bound by generated base classes, and TraceService is bound by OtlpTraceMethodProvider.
        services.AddSingleton(sp => new ReflectionServiceImpl(GrpcServiceDescriptors(sp.GetRequiredService<EndpointDataSource>())));
        services.AddGrpcReflection();
        return services;
    }

    /// <summary>
    /// The descriptor of every gRPC service the server maps, from its endpoint table; a mapped service whose
    /// descriptor is not known here fails reflection loudly rather than being left out of the list.
    /// </summary>
    private static List<Google.Protobuf.Reflection.ServiceDescriptor> GrpcServiceDescriptors(EndpointDataSource endpoints)
    {
        var known = new[] { TraceService.Descriptor, Grpc.Reflection.V1Alpha.ServerReflection.Descriptor, Grpc.Reflection.V1.ServerReflection.Descriptor }
            .ToDictionary(d => d.FullName, StringComparer.Ordinal);
        return endpoints.Endpoints
            .Select(e => e.Metadata.GetMetadata<GrpcMethodMetadata>()?.Method.ServiceName)
            .OfType<string>()
            // gRPC's catch-all for unknown services and methods ("{unimplementedService}") is no service.
            .Where(name => name.Length > 0 && !name.Contains('{', StringComparison.Ordinal))
            .Distinct(StringComparer.Ordinal)
            .Select(name => known.TryGetValue(name, out var descriptor) ? descriptor
                : throw new InvalidOperationException($"The gRPC service {name} is mapped but has no descriptor for reflection: add it in OtlpRegistration."))
            .ToList();
    }

    /// <summary><c>POST /v1/traces</c> (OTLP/HTTP) and the OTLP/gRPC TraceService.</summary>
    public static IEndpointRouteBuilder MapOtlp(this IEndpointRouteBuilder app)
    {
        app.MapOtlpHttp();
        app.MapGrpcService<OtlpTraceService>();
        app.MapGrpcReflectionService();
        return app;
    }
}
