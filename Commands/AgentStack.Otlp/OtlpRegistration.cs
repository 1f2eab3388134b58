using AgentStack.Otlp.Pricing;
using AgentStack.Otlp.Receiving;
using Grpc.AspNetCore.Server.Model;
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
            // The same ceiling as OTLP/HTTP bodies; gRPC answers RESOURCE_EXHAUSTED above it.
            o.MaxReceiveMessageSize = (int)Math.Min(int.MaxValue,
                configuration.GetSection("AgentStack:Ingest").GetValue<long?>("MaxBodyBytes") ?? 16 * 1024 * 1024);
            o.EnableDetailedErrors = false;
        });
        return services;
    }

    /// <summary><c>POST /v1/traces</c> (OTLP/HTTP) and the OTLP/gRPC TraceService.</summary>
    public static IEndpointRouteBuilder MapOtlp(this IEndpointRouteBuilder app)
    {
        app.MapOtlpHttp();
        app.MapGrpcService<OtlpTraceService>();
        return app;
    }
}
