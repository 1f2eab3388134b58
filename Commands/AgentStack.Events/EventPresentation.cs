namespace AgentStack.Events;

/// <summary>
/// The log exactly as the adapter stored it. Readers that must see the stored bytes (hash-chain
/// verification, signed audit exports) read through this; every other reader uses
/// <see cref="IEventStore"/>, which may present payloads differently (opened, or erased: docs/audit.md).
/// </summary>
public sealed record RawEventStore(IEventStore Store);

/// <summary>
/// Turns an event's stored bytes into the bytes readers are shown. The identity until payloads are
/// stored sealed; then it opens them, and an erased subject's payloads read as <c>{"erased":true}</c>.
/// </summary>
public interface IEventPresenter
{
    byte[] Present(StoredEvent stored);
}

/// <summary>Shows events exactly as stored.</summary>
public sealed class StoredBytesPresenter : IEventPresenter
{
    public byte[] Present(StoredEvent stored) => stored.Data;
}

/// <summary>
/// A store that presents payloads differently from how it stores them (sealed, issue 14) and can hand a reader the
/// stored events to open one by one. A reader of a long stretch of the log that needs only some of a batch's
/// events, and of those not every payload, opens only those (a projection rebuild; BENCHMARKS.md, issue 14).
/// </summary>
public interface IEventOpener
{
    /// <summary>The events after <paramref name="afterPosition"/> as stored, at most <paramref name="maxCount"/>.</summary>
    Task<IReadOnlyList<StoredEvent>> ReadAllStoredAsync(long afterPosition, int maxCount, CancellationToken cancellationToken);

    /// <summary>
    /// The event as <see cref="IEventStore.ReadAllAsync(long, int, CancellationToken)"/> shows it, except the span's content hash, which stays as
    /// stored: projections of span payloads never read it.
    /// </summary>
    StoredEvent OpenPayloads(StoredEvent stored);
}
