using System.Text.Json;
using AgentStack.Events;
using AgentStack.Events.Anomalies;
using AgentStack.Projections.Running;

namespace AgentStack.Anomalies.Detecting;

/// <summary>
/// Runs the <see cref="AnomalyEngine"/> over completed spans and appends what it finds to
/// <c>anomalies-{project}</c> (issue 15, points 3 and 5: detections are events). The baselines live in
/// memory and are a function of the log, so a new process replays the log from 0
/// (<see cref="InMemoryCheckpoints"/>); ids are deterministic and every append checks the stream's ids
/// first with an expected version, so a restart, a rebuild or a second worker never appends one twice.
/// </summary>
public sealed class AnomalyProjection(IEventStore store, BaselineOptions options) : IProjection
{
    public const string ProjectionName = "anomalies";

    private AnomalyEngine engine = new(options);
    private readonly Dictionary<string, KnownStream> streams = new(StringComparer.Ordinal);
    private readonly List<AnomalyDetected> pending = [];
    private long applied;

    public string Name => ProjectionName;

    /// <summary>The last log position the baselines have seen (their state's checkpoint).</summary>
    public long Position => Interlocked.Read(ref applied);

    public async Task ApplyAsync(IReadOnlyList<StoredEvent> batch, CancellationToken cancellationToken)
    {
        // Anomalies found but not appended (the store failed) go first; the runner hands this batch again.
        await FlushAsync(cancellationToken);
        foreach (var stored in batch)
        {
            if (stored.Position <= applied)
                continue; // already in the baselines (a batch handed again after a failed append)
            // Only what the engine reads, not the whole event (CompletedSpanReader).
            if (stored.Type == EventTypes.SpanCompleted && CompletedSpanReader.Read(stored.Data) is { } completed)
                pending.AddRange(engine.Observe(completed.Project, completed.Span));
            Interlocked.Exchange(ref applied, stored.Position);
        }
        await FlushAsync(cancellationToken);
    }

    /// <summary>Forgets every baseline, for a rebuild from position 0.</summary>
    public void Reset()
    {
        engine = new AnomalyEngine(options);
        pending.Clear();
        streams.Clear();
        Interlocked.Exchange(ref applied, 0);
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        foreach (var group in pending.GroupBy(a => a.Project, StringComparer.Ordinal).ToList())
        {
            var stream = AnomalyStream.Name(group.Key);
            for (var attempt = 0; ; attempt++)
            {
                var known = streams.TryGetValue(stream, out var k) ? k : streams[stream] = await LoadAsync(stream, cancellationToken);
                var fresh = group.Where(a => known.Ids.Add(a.Id)).ToList();
                if (fresh.Count == 0)
                    break;
                try
                {
                    var result = await store.AppendAsync(stream, known.Version, [.. fresh.Select(EventTypes.Serialize)], cancellationToken);
                    known.Version = result.NextVersions[0];
                    break;
                }
                catch (Exception e) when (e is WrongExpectedVersionException && attempt < 5)
                {
                    // Another worker (or an earlier life of this one) appended meanwhile: read its ids again.
                    streams.Remove(stream);
                }
                catch
                {
                    streams.Remove(stream);
                    throw;
                }
            }
        }
        pending.Clear();
    }

    private async Task<KnownStream> LoadAsync(string stream, CancellationToken cancellationToken)
    {
        var known = new KnownStream();
        await foreach (var e in store.ReadStreamAsync(stream, 1, cancellationToken))
        {
            known.Version = e.Version;
            if (e.Type == AnomalyDetected.TypeName)
            {
                using var document = JsonDocument.Parse(e.Data);
                if (document.RootElement.TryGetProperty("id", out var id) && id.GetString() is { } value)
                    known.Ids.Add(value);
            }
        }
        return known;
    }

    private sealed class KnownStream
    {
        public long Version;
        public HashSet<string> Ids { get; } = new(StringComparer.Ordinal);
    }
}

/// <summary>
/// The checkpoint of a projection whose state lives in memory: where that state is. A new process starts
/// at 0 and rebuilds the state from the whole log; nothing is saved, because nothing else survives a restart.
/// </summary>
public sealed class InMemoryCheckpoints(AnomalyProjection projection) : ICheckpointStore
{
    public Task<IReadOnlyDictionary<string, long>> LoadAsync(IReadOnlyCollection<string> names, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyDictionary<string, long>>(names.ToDictionary(n => n, _ => projection.Position, StringComparer.Ordinal));

    public Task SaveAsync(IReadOnlyDictionary<string, long> checkpoints, CancellationToken cancellationToken) => Task.CompletedTask;
}
