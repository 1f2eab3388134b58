using System.Collections.Concurrent;
using AgentStack.Events;

namespace AgentStack.Access.Administering;

/// <summary>
/// Appends the access events of issue 17 to the project's stream <c>access-{project}</c> of the event log, so
/// "who changed access and when" is hash-chained and exported like every other event (docs/administration.md).
/// </summary>
public sealed class AccessLog(IEventStore events)
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> gates = new(StringComparer.Ordinal);

    public Task AppendAsync(string project, object @event, CancellationToken ct, long expectedVersion = StreamAppend.Any) =>
        events.AppendAsync(AccessStream.Name(project), expectedVersion, [EventTypes.Serialize(@event)], ct);

    /// <summary>The version of the project's access stream (0 before its first event), to append expecting it.</summary>
    public async Task<long> VersionAsync(string project, CancellationToken ct) =>
        (await events.ReadStreamVersionsAsync([AccessStream.Name(project)], ct))[0];

    /// <summary>
    /// Holds the project's changes in this process one at a time until disposed, so a change is appended and applied to
    /// the read model before the next one is: the read model then ends as the log does.
    /// </summary>
    public async Task<IDisposable> HoldAsync(string project, CancellationToken ct)
    {
        var gate = gates.GetOrAdd(project, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct);
        return new Held(gate);
    }

    private sealed class Held(SemaphoreSlim gate) : IDisposable
    {
        private int released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref released, 1) == 0)
                gate.Release();
        }
    }

    /// <summary>The project's access history, oldest first.</summary>
    public IAsyncEnumerable<StoredEvent> ReadAsync(string project, CancellationToken ct) =>
        events.ReadStreamAsync(AccessStream.Name(project), 1, ct);
}
