using AgentStack.Commands.Bus;
using AgentStack.Commands.Guarding;
using AgentStack.Security.SensitiveData;
using AgentStack.Commands.Spans.Ingesting;
using AgentStack.Commands.Spans.RecordingSpans;
using MassTransit;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AgentStack.Commands;

public static class CommandsRegistration
{
    /// <summary>
    /// The collector's limits and metrics, the one ingestion service every endpoint uses, and the RecordSpans
    /// handler with its state cache. With the in-memory transport (embedded default) commands are handed to the
    /// handler in process (<see cref="InProcessSpanRecorder"/>); on RabbitMQ they travel the bus, which the host
    /// wires with <see cref="AddRecordSpans"/>.
    /// </summary>
    public static IServiceCollection AddCollector(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<IngestOptions>().Bind(configuration.GetSection(IngestOptions.Section));
        // A project's limits: the deployment's, then the project's own section on top (named options, one per project).
        services.AddSingleton<IConfigureOptions<IngestOptions>>(new ProjectIngestLimits(configuration));
        services.AddOptions<MaskingOptions>().Bind(configuration.GetSection(MaskingOptions.Section));
        services.AddGuard();
        services.AddSingleton<IngestMetrics>();
        services.AddMetrics();
        services.AddTryAddTimeProvider();
        services.AddSingleton<SpanIngestion>();
        services.AddSingleton(sp => new TraceStateCache(sp.GetRequiredService<IOptions<IngestOptions>>().Value.TraceStateCacheSize));
        services.AddSingleton<RecordSpansHandler>();
        if (BusOptions.From(configuration).InProcess)
            services.AddSingleton<ISpanRecorder, InProcessSpanRecorder>();
        else
            services.AddSingleton<ISpanRecorder, BusSpanRecorder>();
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
        if (options.InProcess)
            return bus; // InProcessSpanRecorder: the command never leaves the process
        if (options.RunHandlers)
            bus.AddConsumer<RecordSpansConsumer, RecordSpansConsumerDefinition>();
        bus.AddRequestClient<RecordSpansOnTheBus>(new Uri($"queue:{options.EndpointNames().Consumer<RecordSpansConsumer>()}"));
        return bus;
    }

    private static void AddTryAddTimeProvider(this IServiceCollection services)
    {
        if (services.All(d => d.ServiceType != typeof(TimeProvider)))
            services.AddSingleton(TimeProvider.System);
    }
}
