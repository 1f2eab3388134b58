using AgentStack.Commands.Bus;
using AgentStack.Commands.Spans.Ingesting;
using AgentStack.Commands.Spans.RecordingSpans;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AgentStack.Commands;

public static class CommandsRegistration
{
    /// <summary>The collector's limits and metrics; the bus is wired by the host (<see cref="AddRecordSpans"/>).</summary>
    public static IServiceCollection AddCollector(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<IngestOptions>().Bind(configuration.GetSection(IngestOptions.Section));
        services.AddSingleton<IngestMetrics>();
        services.AddMetrics();
        services.AddTryAddTimeProvider();
        return services;
    }

    /// <summary>
    /// Registers the collector's request client and, unless this host only collects, the RecordSpans
    /// handler, on a bus configuration. A command is sent to this installation's own queue, never
    /// published: a publish goes to every queue bound to the message type, so a second installation on
    /// the same broker (another <see cref="BusOptions.QueuePrefix"/>) would record it in its own store
    /// and answer for it.
    /// </summary>
    public static IBusRegistrationConfigurator AddRecordSpans(this IBusRegistrationConfigurator bus, BusOptions options)
    {
        if (options.RunHandlers)
            bus.AddConsumer<RecordSpansHandler, RecordSpansHandlerDefinition>();
        bus.AddRequestClient<RecordSpans>(new Uri($"queue:{options.EndpointNames().Consumer<RecordSpansHandler>()}"));
        return bus;
    }

    private static void AddTryAddTimeProvider(this IServiceCollection services)
    {
        if (services.All(d => d.ServiceType != typeof(TimeProvider)))
            services.AddSingleton(TimeProvider.System);
    }
}
