using AgentStack.Sdk;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers AgentStack in a host: <c>services.AddAgentStack(o => ...)</c>.</summary>
public static class AgentStackServiceCollectionExtensions
{
    /// <summary>
    /// Registers a singleton <see cref="AgentStackClient"/> started with the host and flushed and stopped with it.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Changes to the options.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddAgentStack(this IServiceCollection services, Action<AgentStackOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = services.AddOptions<AgentStackOptions>();
        if (configure is not null)
            builder.Configure(configure);
        services.TryAddSingleton(sp => new AgentStackClient(sp.GetRequiredService<IOptions<AgentStackOptions>>().Value));
        services.AddHostedService<AgentStackHostedService>();
        return services;
    }
}

/// <summary>Starts the client with the host (so spans are captured from the first request) and flushes it on shutdown.</summary>
internal sealed class AgentStackHostedService(AgentStackClient client) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await client.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
