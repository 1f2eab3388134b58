using AgentStack.Events;
using AgentStack.EventStore.Sqlite;

namespace AgentStack.Anomalies.Tests;

/// <summary>The real embedded event store (SQLite file) in a fresh temp folder per test.</summary>
internal sealed class TempStore : IAsyncDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "agentstack-anomalies", Guid.NewGuid().ToString("N"));

    public TempStore()
    {
        Directory.CreateDirectory(directory);
        Store = new SqliteEventStore(new SqliteEventStoreOptions(Path.Combine(directory, "events.db")), TimeProvider.System);
    }

    public SqliteEventStore Store { get; }

    /// <summary>Appends each span as the collector would: a <see cref="SpanCompleted"/> on its trace's stream.</summary>
    public async Task AppendSpansAsync(string project, IEnumerable<SpanRecord> spans)
    {
        foreach (var trace in spans.GroupBy(s => s.TraceId))
        {
            var stream = TraceStream.Name(project, trace.Key);
            long version = 0;
            await foreach (var e in Store.ReadStreamAsync(stream, 1, CancellationToken.None))
                version = e.Version;
            await Store.AppendAsync(stream, version, [.. trace.Select(s => EventTypes.Serialize(
                new SpanCompleted(project, s, "sha256:test", s.EndTime!.Value, "test")))], CancellationToken.None);
        }
    }

    public async Task<List<StoredEvent>> ReadAllAsync()
    {
        var all = new List<StoredEvent>();
        while (true)
        {
            var batch = await Store.ReadAllAsync(all.Count == 0 ? 0 : all[^1].Position, 500, CancellationToken.None);
            if (batch.Count == 0)
                return all;
            all.AddRange(batch);
        }
    }

    public async Task<List<StoredEvent>> ReadStreamAsync(string stream)
    {
        var events = new List<StoredEvent>();
        await foreach (var e in Store.ReadStreamAsync(stream, 1, CancellationToken.None))
            events.Add(e);
        return events;
    }

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException) { }
    }
}
