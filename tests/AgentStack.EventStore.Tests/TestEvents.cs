using System.Text;
using AgentStack.Events;

namespace AgentStack.EventStore.Tests;

internal static class TestEvents
{
    public static EventData Json(string type, string json) => new(type, Encoding.UTF8.GetBytes(json));

    public static EventData[] Numbered(int count, string tag = "e") =>
        [.. Enumerable.Range(1, count).Select(n => Json("test.numbered.v1", $$"""{"tag":"{{tag}}","n":{{n}}}"""))];

    public static string NewStream(string name) => $"{name}-{Guid.NewGuid():N}";

    public static string Text(this StoredEvent e) => Encoding.UTF8.GetString(e.Data);

    public static async Task<List<StoredEvent>> ReadStream(this IEventStore store, string stream,
        long fromVersion = 1) =>
        await store.ReadStreamAsync(stream, fromVersion, TestContext.Current.CancellationToken)
            .ToListAsync(TestContext.Current.CancellationToken);
}

/// <summary>A clock that stands still where the test puts it.</summary>
internal sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;

    public override DateTimeOffset GetUtcNow() => Now;
}
