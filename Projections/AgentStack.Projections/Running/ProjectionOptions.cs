using AgentStack.EventStore.Common;

namespace AgentStack.Projections.Running;

/// <summary>Configuration section <c>AgentStack:Projections</c>.</summary>
public sealed class ProjectionOptions
{
    public const string Section = "AgentStack:Projections";

    /// <summary>The most events applied in one batch.</summary>
    public int BatchSize { get; set; } = 10_000;

    /// <summary>The most events a rebuild replays in one batch (issue 14.6): larger than live batches, as it reads a backlog.</summary>
    public int RebuildBatchSize { get; set; } = 20_000;

    /// <summary>
    /// The least time between the starts of two batches that are not full: far fewer ClickHouse parts under load, traded
    /// for at most this much added delay until new spans are queryable. A batch that took this long to apply is followed
    /// at once (<see cref="LingerAfter"/>).
    /// </summary>
    public TimeSpan Linger { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// How long to wait before reading the next batch, after one of <paramref name="count"/> events that took
    /// <paramref name="applying"/> from its read to its end: what remains of <see cref="Linger"/>, none after a full batch.
    /// Waiting the whole linger after a batch that already took longer than it added nothing but delay: under a steady
    /// load, where each batch took a few hundred milliseconds, every span waited that long again before being read.
    /// </summary>
    public TimeSpan LingerAfter(int count, TimeSpan applying) =>
        count >= BatchSize || applying >= Linger ? TimeSpan.Zero : Linger - applying;

    /// <summary>
    /// How often, at most, a runner saves its checkpoint while the log keeps growing; it always saves once it has
    /// caught up. Each save is an insert (a ClickHouse part to merge) per projection, so saving after every
    /// batch cost more than the batches of the smaller projections. A restart re-applies at most this much of
    /// the log, which every projection absorbs (invariant 4).
    /// </summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How many parts the log is split into, by a hash of the stream (one trace: one part), so that
    /// several projection workers can share the work (issue 4). Each part has its own checkpoint.
    /// Changing it starts the new parts from 0, which the replacing tables absorb.
    /// </summary>
    public int Partitions { get; set; } = 1;

    /// <summary>
    /// <c>None</c> (default): this process projects every part, right for a single worker.
    /// <c>Postgres</c>: workers share the parts through leases in PostgreSQL (connection string
    /// <c>Postgres</c>); a worker that stops renewing loses its parts to the others.
    /// </summary>
    public string Leases { get; set; } = "None";

    /// <summary>How long a lease lasts without renewal; workers renew every third of it.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>The PostgreSQL schema of the lease tables.</summary>
    public string LeaseSchema { get; set; } = "agentstack";

    /// <summary>This worker's name in the lease table; host name and process id by default.</summary>
    public string WorkerId { get; set; } = $"{Environment.MachineName}:{Environment.ProcessId}";

    /// <summary>
    /// How many Linux nice steps below the process the projection runners' threads run (1–19), so that a full CPU
    /// serves ingestion first and the projections catch up with what is left; 0 runs them on the shared thread pool
    /// at the process's priority. Elsewhere than Linux the runners get their own threads at the process's priority.
    /// </summary>
    public int Nice { get; set; } = 10;

    /// <summary>
    /// How many threads the runners share when <see cref="Nice"/> is set: by default one for each of the five that run
    /// on them (detections, anomalies, alerts, findings, security findings). A runner holds its thread through a batch
    /// (a synchronous read of the log, the detectors over 10,000 spans), and on two threads the cheap runners waited
    /// behind the detectors' and the anomaly baselines' batches: at 80% of the peak the alerts ran 18-22 s behind the
    /// log, against 0.6-1.8 s on five (BENCHMARKS.md, "Twenty-fifth sitting"). Nice, not the count, keeps them below
    /// ingestion.
    /// </summary>
    public int Threads { get; set; } = DefaultThreads;

    /// <summary>One for each runner but the analytics tables' in the all-in-one server.</summary>
    public const int DefaultThreads = 5;

    /// <summary>
    /// How many Linux nice steps above the process the analytics tables' runner runs, on a thread of its own (0–20; 0
    /// runs it on the shared thread pool at the process's priority): level with the event store's writer
    /// (<c>AgentStack:EventStore:WriterPriority</c>), so that a full CPU does not leave the tables the dashboard reads
    /// behind what the writer commits. Needs CAP_SYS_NICE or a RLIMIT_NICE that allows it, like the writer's.
    /// </summary>
    public int AnalyticsPriority { get; set; } = 10;

    public bool SharesWork => !string.Equals(Leases, "None", StringComparison.OrdinalIgnoreCase);

    public void Validate()
    {
        if (Partitions is < 1 or > 1024)
            throw new InvalidOperationException($"{Section}:Partitions must be between 1 and 1024 (was {Partitions}).");
        if (RebuildBatchSize < 1)
            throw new InvalidOperationException($"{Section}:RebuildBatchSize must be positive (was {RebuildBatchSize}).");
        if (BatchSize < 1)
            throw new InvalidOperationException($"{Section}:BatchSize must be positive (was {BatchSize}).");
        if (SharesWork && !string.Equals(Leases, "Postgres", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"{Section}:Leases '{Leases}' is unknown: use None or Postgres.");
        if (Nice is < 0 or > 19)
            throw new InvalidOperationException($"{Section}:Nice must be between 0 (the process's priority) and 19 (was {Nice}).");
        if (AnalyticsPriority is < 0 or > GroupCommitQueue.MaxWriterPriority)
            throw new InvalidOperationException($"{Section}:AnalyticsPriority must be between 0 (the process's priority) and {GroupCommitQueue.MaxWriterPriority} (was {AnalyticsPriority}).");
        if (Threads is < 1 or > 64)
            throw new InvalidOperationException($"{Section}:Threads must be between 1 and 64 (was {Threads}).");
        if (CheckpointInterval < TimeSpan.Zero)
            throw new InvalidOperationException($"{Section}:CheckpointInterval must not be negative (was {CheckpointInterval}).");
        if (LeaseDuration < TimeSpan.FromSeconds(1))
            throw new InvalidOperationException($"{Section}:LeaseDuration must be at least one second (was {LeaseDuration}).");
    }
}
