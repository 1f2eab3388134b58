using AgentStack.Events;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AgentStack.Audit;

public static class AuditRegistration
{
    /// <summary>
    /// The audit services (docs/audit.md). The signing key comes from <c>AgentStack:Audit:SigningKey</c> (PEM),
    /// <c>AgentStack:Audit:SigningKeyPath</c>, or <c>audit-signing-key.pem</c> in the data directory (created when
    /// missing). Checkpoints live beside the log: <c>audit.db</c> in the data directory, or tables in the event
    /// store's PostgreSQL schema when the event store is Marten. <paramref name="runCheckpoints"/> starts the
    /// background service that signs a checkpoint every <c>AgentStack:Audit:CheckpointInterval</c>.
    /// </summary>
    public static IServiceCollection AddAudit(this IServiceCollection services, IConfiguration configuration, string dataDirectory,
        bool runCheckpoints)
    {
        services.AddSingleton(_ =>
        {
            if (configuration["AgentStack:Audit:SigningKey"] is { Length: > 0 } pem)
                return AuditKey.FromPem(pem);
            var path = configuration["AgentStack:Audit:SigningKeyPath"] is { Length: > 0 } configured
                ? configured
                : Path.Combine(dataDirectory, AuditKey.DefaultFileName);
            return AuditKey.LoadOrCreate(path);
        });
        services.AddSingleton<ICheckpointStore>(_ =>
        {
            ICheckpointStore store = string.Equals(configuration["AgentStack:EventStore:Provider"], "Marten", StringComparison.OrdinalIgnoreCase)
                ? new PostgresCheckpointStore(
                    configuration.GetConnectionString("Postgres") ?? throw new InvalidOperationException("ConnectionStrings:Postgres is not set."),
                    configuration["AgentStack:EventStore:Schema"] ?? "agentstack")
                : new SqliteCheckpointStore(Path.Combine(dataDirectory, SqliteCheckpointStore.DefaultFileName));
            store.InitializeAsync(CancellationToken.None).GetAwaiter().GetResult();
            return store;
        });
        services.AddSingleton(sp => new LogVerifier(sp.GetRequiredService<RawEventStore>(), sp.GetRequiredService<ICheckpointStore>(),
            sp.GetRequiredService<AuditKey>().Public));
        services.AddSingleton<Checkpointer>();
        services.AddSingleton<ProofBuilder>();
        services.AddSingleton<AuditExportWriter>();
        services.AddExceptionHandler<UnreadableCheckpointHandler>();
        if (runCheckpoints)
            services.AddHostedService<CheckpointService>();
        return services;
    }
}
