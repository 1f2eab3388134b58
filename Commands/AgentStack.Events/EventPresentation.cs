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
