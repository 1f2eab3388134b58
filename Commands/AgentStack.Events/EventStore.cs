namespace AgentStack.Events;

/// <summary>An event to append: its stored type name and its UTF-8 JSON data.</summary>
public sealed record EventData(string Type, byte[] Data);

/// <summary>
/// An event as stored. <see cref="Version"/> counts from 1 within its stream; <see cref="Position"/>
/// is the global order of the log, from 1. <see cref="Data"/> is exactly the bytes appended.
/// </summary>
public sealed record StoredEvent(
    long Position,
    string Stream,
    long Version,
    string Type,
    DateTimeOffset RecordedAt,
    byte[] Data,
    string Hash,
    string PrevHash);

/// <summary>Events for one stream, appended only if the stream is at <paramref name="ExpectedVersion"/>.</summary>
public sealed record StreamAppend(string Stream, long ExpectedVersion, IReadOnlyList<EventData> Events)
{
    /// <summary>The stream must not exist yet.</summary>
    public const long NoStream = 0;

    /// <summary>Append whatever the stream's version is.</summary>
    public const long Any = -1;
}

/// <summary>The new version of each stream, in the order of the appends.</summary>
public sealed record AppendResult(IReadOnlyList<long> NextVersions, long LastPosition);

/// <summary>An append's expected version did not match the stream: nothing was appended.</summary>
public sealed class WrongExpectedVersionException(string stream, long expected, long actual)
    : Exception($"Stream '{stream}' is at version {actual}, expected {expected}.")
{
    public string Stream { get; } = stream;
    public long Expected { get; } = expected;
    public long Actual { get; } = actual;
}

/// <summary>Which events of a read of the whole log come with their data (<see cref="IEventStore.ReadAllAsync(long, int, EventDataScope, CancellationToken)"/>).</summary>
public enum EventDataScope
{
    /// <summary>Every event.</summary>
    All,

    /// <summary>Every event but <see cref="EventTypes.SpanStarted"/> and <see cref="EventTypes.SpanCompleted"/>.</summary>
    AllButSpans,

    /// <summary>None: positions, streams, versions, types, times and hashes only.</summary>
    None,
}

/// <summary>The store cannot persist right now (disk full, database down): callers answer 503.</summary>
public sealed class EventStoreUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The write model's port (docs/architecture.md: append/read/subscribe). Every adapter passes the same
/// contract suite (tests/AgentStack.EventStore.Tests/EventStoreContract.cs).
/// </summary>
public interface IEventStore
{
    /// <summary>
    /// Appends to one or more streams atomically: all appends are durable when the task completes,
    /// or none is applied (a <see cref="WrongExpectedVersionException"/> for any of them rejects all).
    /// Each event is hash-chained to its predecessor in the stream (<see cref="EventHash"/>).
    /// </summary>
    Task<AppendResult> AppendAsync(IReadOnlyList<StreamAppend> appends, CancellationToken cancellationToken);

    /// <summary>The stream's events with version ≥ <paramref name="fromVersion"/>, in order.</summary>
    IAsyncEnumerable<StoredEvent> ReadStreamAsync(string stream, long fromVersion, CancellationToken cancellationToken);

    /// <summary>
    /// The version of each of <paramref name="streams"/>, in their order: 0 for a stream that does not exist. One
    /// read for them all, so a writer learns which of a batch's streams are new without reading each.
    /// </summary>
    Task<long[]> ReadStreamVersionsAsync(IReadOnlyList<string> streams, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="maxCount"/> events of the whole log with position &gt; <paramref name="afterPosition"/>, in order.</summary>
    Task<IReadOnlyList<StoredEvent>> ReadAllAsync(long afterPosition, int maxCount, CancellationToken cancellationToken);

    /// <summary>
    /// As <see cref="ReadAllAsync(long, int, CancellationToken)"/>, but only the events in <paramref name="data"/> are
    /// sure to come with their data; the others may come with an empty <see cref="StoredEvent.Data"/>, everything else
    /// of them as stored. For readers that need every event's place in the log and few events' contents: the audit's
    /// Merkle tree reads hashes only, the projections of findings skip the spans, which are most of the log's bytes.
    /// The store then neither reads nor copies the data left out.
    /// </summary>
    Task<IReadOnlyList<StoredEvent>> ReadAllAsync(long afterPosition, int maxCount, EventDataScope data, CancellationToken cancellationToken);

    /// <summary>Completes once the log holds an event with position &gt; <paramref name="afterPosition"/>.</summary>
    Task WaitForEventsAfterAsync(long afterPosition, CancellationToken cancellationToken);

    /// <summary>The position of the last event in the log, 0 when empty.</summary>
    Task<long> GetLastPositionAsync(CancellationToken cancellationToken);
}

/// <summary>
/// What a reader of the log makes of an event's stored bytes (<see cref="IDecodingLogReader"/>): the data its
/// <see cref="StoredEvent"/> carries. <paramref name="stored"/> is the store's own buffer, valid only during the call.
/// </summary>
public delegate byte[] StoredDataDecoder(string type, ReadOnlySpan<byte> stored);

/// <summary>
/// A store that hands each event's stored bytes to a decoder as it reads the whole log, instead of copying them into
/// an array first. The sealing decorator opens span payloads from the store's page this way: a read of the log then
/// makes one array per event (the opened data) instead of two (the sealed copy, then the opened one), and at the peak
/// those sealed copies were an eighth of what the server allocated and a batch's worth of them outlived the read
/// (docs/event-store.md, "Reading the log").
/// </summary>
public interface IDecodingLogReader
{
    /// <summary>As <see cref="IEventStore.ReadAllAsync(long, int, EventDataScope, CancellationToken)"/>, each event's data being <paramref name="decode"/>'s result.</summary>
    Task<IReadOnlyList<StoredEvent>> ReadAllAsync(long afterPosition, int maxCount, EventDataScope data,
        StoredDataDecoder decode, CancellationToken cancellationToken);
}

/// <summary>
/// A store that tells what this process's appends stored, commit by commit, before it wakes the readers waiting on the
/// log (<see cref="IEventStore.WaitForEventsAfterAsync"/>). The sealing decorator keeps the span events just appended,
/// as appended, so the projections tailing the log in the same process neither read nor decrypt them again.
/// </summary>
public interface ICommittedEventsSource
{
    /// <summary>
    /// Calls <paramref name="committed"/> after each commit with every event it stored, in position order, on the
    /// committing thread: it must be quick and must not throw.
    /// </summary>
    void OnCommitted(Action<IReadOnlyList<StoredEvent>> committed);
}

public static class EventStoreExtensions
{
    public static Task<AppendResult> AppendAsync(this IEventStore store, string stream, long expectedVersion,
        IReadOnlyList<EventData> events, CancellationToken cancellationToken) =>
        store.AppendAsync([new StreamAppend(stream, expectedVersion, events)], cancellationToken);

    /// <summary>
    /// Subscribes to the whole log from a checkpoint: yields batches of events after
    /// <paramref name="afterPosition"/>, waiting (not polling) for new ones. <paramref name="caughtUp"/>, when
    /// given, runs each time the log has no more events for now, before the wait (a projection saves its
    /// checkpoint there). <paramref name="read"/>, when given, reads each batch instead of
    /// <see cref="IEventStore.ReadAllAsync(long, int, CancellationToken)"/> (a read of fewer events' data).
    /// </summary>
    public static async IAsyncEnumerable<IReadOnlyList<StoredEvent>> SubscribeAsync(this IEventStore store,
        long afterPosition, int batchSize,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken,
        Func<CancellationToken, Task>? caughtUp = null,
        Func<long, int, CancellationToken, Task<IReadOnlyList<StoredEvent>>>? read = null)
    {
        var position = afterPosition;
        while (!cancellationToken.IsCancellationRequested)
        {
            var batch = await store.NextBatchAsync(position, batchSize, cancellationToken, caughtUp, read);
            yield return batch;
            position = batch[^1].Position;
        }
    }

    /// <summary>
    /// The next batch of <see cref="SubscribeAsync"/>: the events after <paramref name="afterPosition"/>, at most
    /// <paramref name="batchSize"/>, waiting (not polling) until there is at least one. For a reader that waits
    /// between batches and must not hold the last one meanwhile: <see cref="SubscribeAsync"/>'s current batch is held
    /// by its enumerator until the next one is asked for, so a wait in the loop's body holds it.
    /// </summary>
    public static async Task<IReadOnlyList<StoredEvent>> NextBatchAsync(this IEventStore store, long afterPosition,
        int batchSize, CancellationToken cancellationToken, Func<CancellationToken, Task>? caughtUp = null,
        Func<long, int, CancellationToken, Task<IReadOnlyList<StoredEvent>>>? read = null)
    {
        read ??= store.ReadAllAsync;
        while (true)
        {
            var batch = await read(afterPosition, batchSize, cancellationToken);
            if (batch.Count > 0)
                return batch;
            if (caughtUp is not null)
                await caughtUp(cancellationToken);
            await store.WaitForEventsAfterAsync(afterPosition, cancellationToken);
        }
    }
}
