using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AgentStack.Commands.Bus;

/// <summary>Configuration section <c>AgentStack:Bus</c>.</summary>
public sealed class BusOptions
{
    public const string Section = "AgentStack:Bus";

    /// <summary><c>InMemory</c> (embedded default) or <c>RabbitMq</c> (connection string <c>RabbitMq</c>).</summary>
    public string Transport { get; set; } = "InMemory";

    /// <summary>Whether this process consumes commands (a collector-only host sets false).</summary>
    public bool RunHandlers { get; set; } = true;

    /// <summary>
    /// Prefix of every queue and exchange name, so several AgentStack installations (or test runs) can
    /// share one broker without consuming each other's commands. Empty by default.
    /// </summary>
    public string QueuePrefix { get; set; } = "";

    /// <summary>
    /// Commands stay in this process (the in-memory transport): they are handed to their handler directly,
    /// never serialised (issue 13).
    /// </summary>
    public bool InProcess => Transport.Equals("InMemory", StringComparison.OrdinalIgnoreCase);

    public static BusOptions From(IConfiguration configuration) =>
        configuration.GetSection(Section).Get<BusOptions>() ?? new BusOptions();

    /// <summary>How queues are named: kebab case after <see cref="QueuePrefix"/>.</summary>
    public IEndpointNameFormatter EndpointNames() => new KebabCaseEndpointNameFormatter(QueuePrefix, includeNamespace: false);
}

public static class BusRegistration
{
    /// <summary>
    /// One MassTransit bus whose transport is chosen by configuration; the consumers, the decider and
    /// the message contracts are the same on both (docs/architecture.md: two ways to run, one code path).
    /// On RabbitMQ, queues are durable and publishes wait for the broker's confirm (MassTransit's
    /// default), and messages that keep failing land in the endpoint's <c>_error</c> queue.
    /// </summary>
    public static IServiceCollection AddAgentStackBus(this IServiceCollection services, IConfiguration configuration,
        Action<IBusRegistrationConfigurator, BusOptions> register)
    {
        var options = BusOptions.From(configuration);
        services.AddMassTransit(bus =>
        {
            bus.SetEndpointNameFormatter(options.EndpointNames());
            register(bus, options);
            switch (options.Transport.ToUpperInvariant())
            {
                case "INMEMORY":
                    bus.UsingInMemory((context, transport) => transport.ConfigureEndpoints(context));
                    break;
                case "RABBITMQ":
                    var connection = configuration.GetConnectionString("RabbitMq")
                        ?? throw new InvalidOperationException(
                            "AgentStack:Bus:Transport is RabbitMq but ConnectionStrings:RabbitMq is not set (e.g. amqp://guest:guest@localhost:5672/).");
                    bus.UsingRabbitMq((context, transport) =>
                    {
                        transport.Host(new Uri(connection));
                        transport.ConfigureEndpoints(context);
                    });
                    break;
                default:
                    throw new InvalidOperationException(
                        $"AgentStack:Bus:Transport '{options.Transport}' is unknown: use InMemory or RabbitMq.");
            }
        });
        return services;
    }
}
