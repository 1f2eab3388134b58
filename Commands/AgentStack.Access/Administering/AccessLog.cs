using AgentStack.Events;

namespace AgentStack.Access.Administering;

/// <summary>
/// Appends the access events of issue 17 to the project's stream <c>access-{project}</c> of the event log, so
/// "who changed access and when" is hash-chained and exported like every other event (docs/administration.md).
/// </summary>
public sealed class AccessLog(IEventStore events)
{
    public Task AppendAsync(string project, object @event, CancellationToken ct, long expectedVersion = StreamAppend.Any) =>
        events.AppendAsync(AccessStream.Name(project), expectedVersion, [EventTypes.Serialize(@event)], ct);

    /// <summary>The project's access history, oldest first.</summary>
    public IAsyncEnumerable<StoredEvent> ReadAsync(string project, CancellationToken ct) =>
        events.ReadStreamAsync(AccessStream.Name(project), 1, ct);
}
