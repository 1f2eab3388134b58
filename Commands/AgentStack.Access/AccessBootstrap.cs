using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AgentStack.Access;

/// <summary>
/// On start: ensures project <c>default</c> holds the key in <c>AgentStack:BootstrapApiKey</c>
/// (docs/architecture.md, public contracts). With no bootstrap key and no key at all yet, it creates one and
/// prints it once, the way notebook servers print their token, so a first run needs no configuration.
/// </summary>
public sealed partial class AccessBootstrap(IAccessStore access, IConfiguration configuration, ILogger<AccessBootstrap> logger)
    : IHostedService
{
    public const string DefaultProject = "default";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await access.InitializeAsync(cancellationToken);
        var bootstrapKey = configuration["AgentStack:BootstrapApiKey"];
        if (!string.IsNullOrWhiteSpace(bootstrapKey))
        {
            await access.EnsureKeyAsync(DefaultProject, bootstrapKey.Trim(), Scopes.All, cancellationToken);
            LogBootstrapKey(logger, DefaultProject);
        }
        else if (!await access.AnyKeysAsync(cancellationToken))
        {
            var (_, secret) = await access.CreateKeyAsync(DefaultProject, Scopes.All, cancellationToken);
            LogGeneratedKey(logger, DefaultProject, secret);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Bootstrap key ensured for project '{Project}' (scopes ingest, read, admin)")]
    private static partial void LogBootstrapKey(ILogger logger, string project);

    [LoggerMessage(Level = LogLevel.Warning, Message = "First start: created project '{Project}' with key {Secret} (scopes ingest, read, admin). It is shown only this once; only its hash is stored. Set AgentStack__BootstrapApiKey to choose your own.")]
    private static partial void LogGeneratedKey(ILogger logger, string project, string secret);
}
