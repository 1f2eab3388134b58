using System.Diagnostics.Metrics;
using AgentStack.Events;

namespace AgentStack.Commands.Spans.RecordingSpans;

/// <summary>The handler's answer: either recorded (durable) or refused whole for conflicts.</summary>
public readonly record struct RecordSpansReply(SpansRecorded? Recorded, SpansConflicted? Conflicted);

/// <summary>
/// Gets each touched trace's state (from <see cref="TraceStateCache"/>; a trace the cache lacks is first taken to be
/// new, which the append's expected version checks, and only when that proves wrong are the streams the cache lacks
/// asked for their versions in one read and the existing ones read), runs <see cref="TraceDecider"/>, and appends
/// every stream's new events in one atomic, durable append with expected versions. The same code runs in both topologies: called directly in process (<see cref="InProcessSpanRecorder"/>)
/// or by the MassTransit consumer on RabbitMQ (<see cref="RecordSpansConsumer"/>).
/// A concurrent writer to the same stream (another process) makes the append fail with
/// <see cref="WrongExpectedVersionException"/>: the cached states of the batch are dropped and the caller retries,
/// which re-reads and re-decides. A cached state is only ever behind the stream, never ahead, so every decision
/// that appends is checked by the expected version; a conflict decided on a cached state is decided again on the
/// stream as read, since a newer event (a completion) could turn it into a duplicate.
/// </summary>
public sealed class RecordSpansHandler(IEventStore store, TraceStateCache cache, IngestMetrics metrics)
{
    public async Task<RecordSpansReply> HandleAsync(RecordSpans command, CancellationToken ct)
    {
        try
        {
            // Most traces a batch touches and the cache lacks are new: a read to learn that cost a store round trip per
            // batch (PostgreSQL's in the distributed topology).
            return await HandleAsync(command, uncachedAreNew: true, ct);
        }
        catch (WrongExpectedVersionException e) when (e.Expected == StreamAppend.NoStream)
        {
            // A trace taken to be new has events (evicted from the cache, or this process restarted): nothing was
            // appended; decide again on the streams as stored.
            return await HandleAsync(command, uncachedAreNew: false, ct);
        }
    }

    private async Task<RecordSpansReply> HandleAsync(RecordSpans command, bool uncachedAreNew, CancellationToken ct)
    {
        var appends = new List<StreamAppend>();
        var decided = new List<(string Stream, TraceState State, bool New)>();
        var conflicts = new List<SpanConflict>();
        var accepted = 0;
        var duplicates = 0;

        var traces = ByTrace(command.Spans);
        var streams = new string[traces.Count];
        for (var i = 0; i < traces.Count; i++)
            streams[i] = TraceStream.Name(command.Project, traces[i].TraceId);
        var loaded = uncachedAreNew ? Cached(streams) : await LoadAsync(streams, ct);

        for (var i = 0; i < traces.Count; i++)
        {
            var stream = streams[i];
            var traceCommand = command with { Spans = traces[i].Spans };
            var (state, version, cached) = loaded[i];
            var decision = TraceDecider.Decide(state, traceCommand);
            if (decision.Conflicts.Count > 0 && (cached || uncachedAreNew))
            {
                cache.Remove(stream);
                (state, version) = await ReadAsync(stream, ct);
                decision = TraceDecider.Decide(state, traceCommand);
            }
            conflicts.AddRange(decision.Conflicts);
            duplicates += decision.Duplicates;
            accepted += decision.Events.Count;
            if (decision.Events.Count > 0)
            {
                var events = new List<EventData>(decision.Events.Count);
                foreach (var e in decision.Events)
                    events.Add(EventTypes.Serialize(e));
                appends.Add(new StreamAppend(stream, version, events));
                decided.Add((stream, decision.State, version == StreamAppend.NoStream));
            }
        }

        if (conflicts.Count > 0)
        {
            metrics.Conflicts.Add(conflicts.Count);
            return new RecordSpansReply(null, new SpansConflicted(command.CommandId, conflicts));
        }

        if (appends.Count > 0)
        {
            AppendResult result;
            try
            {
                result = await store.AppendAsync(appends, ct);
            }
            catch
            {
                // A concurrent writer (WrongExpectedVersionException), or unknown whether it was applied (the
                // connection dropped at commit): these streams are read again next time.
                foreach (var append in appends)
                    cache.Remove(append.Stream);
                throw;
            }
            // A trace recorded whole by this batch (new, and finished) is not kept: most get no other batch, and held
            // until evicted, tens of thousands of them went through every generation of the garbage collector
            // (BENCHMARKS.md). A late span costs one read, after which the trace is kept like any other.
            for (var i = 0; i < decided.Count; i++)
            {
                if (decided[i].New && decided[i].State.Finished)
                    cache.Remove(decided[i].Stream);
                else
                    cache.Set(decided[i].Stream, decided[i].State, result.NextVersions[i]);
            }
        }
        metrics.Accepted.Add(accepted);
        metrics.Duplicates.Add(duplicates);
        return new RecordSpansReply(new SpansRecorded(command.CommandId, accepted, duplicates), null);
    }

    /// <summary>Groups by trace id in order of first appearance, without LINQ's grouping per batch.</summary>
    private static List<(string TraceId, List<SpanRecord> Spans)> ByTrace(IReadOnlyList<SpanRecord> spans)
    {
        var traces = new List<(string TraceId, List<SpanRecord> Spans)>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var span in spans)
        {
            if (index.TryGetValue(span.TraceId, out var i))
            {
                traces[i].Spans.Add(span);
                continue;
            }
            index[span.TraceId] = traces.Count;
            traces.Add((span.TraceId, [span]));
        }
        return traces;
    }

    /// <summary>Each stream's decided state and version from the cache, or else the state of a new stream.</summary>
    private (TraceState State, long Version, bool Cached)[] Cached(string[] streams)
    {
        var loaded = new (TraceState State, long Version, bool Cached)[streams.Length];
        for (var i = 0; i < streams.Length; i++)
            loaded[i] = cache.TryGet(streams[i], out var head) ? (head.State, head.Version, true) : (TraceState.Initial, StreamAppend.NoStream, false);
        return loaded;
    }

    /// <summary>
    /// Each stream's decided state and version: from the cache, or else from the store. The streams the cache lacks
    /// are asked for their versions in one read, so a new trace, the common case, costs no read of its own; only a
    /// stream that already has events is read and evolved.
    /// </summary>
    private async Task<(TraceState State, long Version, bool Cached)[]> LoadAsync(string[] streams, CancellationToken ct)
    {
        var loaded = Cached(streams);
        List<int> uncached = [.. Enumerable.Range(0, streams.Length).Where(i => !loaded[i].Cached)];
        if (uncached.Count == 0)
            return loaded;
        var versions = await store.ReadStreamVersionsAsync([.. uncached.Select(i => streams[i])], ct);
        for (var k = 0; k < uncached.Count; k++)
        {
            var i = uncached[k];
            var (state, version) = versions[k] == StreamAppend.NoStream
                ? (TraceState.Initial, StreamAppend.NoStream)
                : await ReadAsync(streams[i], ct);
            loaded[i] = (state, version, false);
        }
        return loaded;
    }

    private async Task<(TraceState State, long Version)> ReadAsync(string stream, CancellationToken ct)
    {
        var state = TraceState.Initial;
        long version = StreamAppend.NoStream;
        await foreach (var e in store.ReadStreamAsync(stream, 1, ct))
        {
            // Events of a stream that are not trace events (none today) do not change what deciding needs.
            if (EventTypes.Deserialize(e.Type, e.Data) is TraceEvent @event)
                state = TraceDecider.Evolve(state, @event);
            version = e.Version;
        }
        return (state, version);
    }
}

/// <summary>Ingestion counters for our own OpenTelemetry metrics.</summary>
public sealed class IngestMetrics
{
    public const string MeterName = "AgentStack.Ingest";

    public IngestMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        Accepted = meter.CreateCounter<long>("agentstack.spans.accepted", "{span}", "Spans that produced events");
        Duplicates = meter.CreateCounter<long>("agentstack.spans.duplicates", "{span}", "Re-sent spans that added nothing");
        Conflicts = meter.CreateCounter<long>("agentstack.spans.conflicts", "{span}", "Re-sent spans refused for conflicting content");
        Rejected = meter.CreateCounter<long>("agentstack.batches.rejected", "{batch}", "Batches refused by validation");
    }

    public Counter<long> Accepted { get; }
    public Counter<long> Duplicates { get; }
    public Counter<long> Conflicts { get; }
    public Counter<long> Rejected { get; }
}
