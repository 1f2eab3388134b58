using AgentStack.Erasure.Keys;
using AgentStack.Erasure.Sealing;
using AgentStack.Events;
using Microsoft.Extensions.DependencyInjection;

namespace AgentStack.Erasure;

/// <summary>Where payload keys are kept (section <c>AgentStack:Erasure</c>; docs/privacy.md).</summary>
/// <param name="KeyStore"><c>Sqlite</c> (<c>keys.db</c> in the data directory) or <c>Postgres</c>.</param>
/// <param name="SqlitePath">The SQLite key store's file.</param>
/// <param name="PostgresConnection">The PostgreSQL connection string, for <c>Postgres</c>.</param>
/// <param name="PostgresSchema">The schema of the key tables.</param>
/// <param name="MasterKey">Optional: 32 bytes in base64 that wrap every stored key.</param>
/// <param name="KeyCacheLifetime">How long a process trusts a cached key (other processes' erasures take effect after it).</param>
public sealed record ErasureOptions(
    string KeyStore, string SqlitePath, string? PostgresConnection, string PostgresSchema, string? MasterKey, TimeSpan KeyCacheLifetime);

public static class ErasureRegistration
{
    /// <summary>
    /// Puts <see cref="SealingEventStore"/> in front of the <see cref="IEventStore"/> registered so far, keeps
    /// the adapter itself as <see cref="RawEventStore"/>, and registers the key store, the keyring and the
    /// <see cref="IEventPresenter"/> that opens sealed payloads. Call after the event store's registration.
    /// </summary>
    public static IServiceCollection AddErasure(this IServiceCollection services, ErasureOptions options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        var adapter = services.LastOrDefault(d => d.ServiceType == typeof(IEventStore))
            ?? throw new InvalidOperationException("AddErasure decorates the event store: register an IEventStore first.");
        services.Remove(adapter);

        var wrapping = KeyWrapping.FromBase64(options.MasterKey);
        services.AddSingleton<ISubjectKeyStore>(_ => options.KeyStore.ToUpperInvariant() switch
        {
            "SQLITE" => new SqliteSubjectKeyStore(options.SqlitePath, wrapping),
            "POSTGRES" => new PostgresSubjectKeyStore(options.PostgresConnection is { Length: > 0 } connection ? connection
                : throw new InvalidOperationException("AgentStack:Erasure:KeyStore is Postgres but ConnectionStrings:Postgres is not set."),
                options.PostgresSchema, wrapping),
            _ => throw new InvalidOperationException($"AgentStack:Erasure:KeyStore '{options.KeyStore}' is unknown: use Sqlite or Postgres."),
        });
        services.AddSingleton(sp => new SubjectKeyring(sp.GetRequiredService<ISubjectKeyStore>(), options.KeyCacheLifetime));
        services.AddSingleton<PayloadSealer>();
        services.AddSingleton(sp => new RawEventStore(Resolve(sp, adapter)));
        services.AddSingleton<IEventStore>(sp => new SealingEventStore(sp.GetRequiredService<RawEventStore>().Store, sp.GetRequiredService<PayloadSealer>()));
        services.AddSingleton<IEventPresenter, SealedEventPresenter>();
        return services;
    }

    private static IEventStore Resolve(IServiceProvider sp, ServiceDescriptor adapter) => adapter switch
    {
        { ImplementationInstance: IEventStore instance } => instance,
        { ImplementationFactory: { } factory } => (IEventStore)factory(sp),
        { ImplementationType: { } type } => (IEventStore)ActivatorUtilities.GetServiceOrCreateInstance(sp, type),
        _ => throw new InvalidOperationException("The registered IEventStore cannot be resolved."),
    };
}
