namespace AgentStack.Events;

/// <summary>
/// Integration event (issue 4): a projection worker saved checkpoints. Published on the bus after every
/// batch so other services can follow projection progress without polling; the checkpoints themselves
/// stay the truth. <paramref name="Parts"/> are the parts of the log the worker holds (see
/// docs/architecture.md and docs/distributed.md), out of <paramref name="Partitions"/>.
/// </summary>
public sealed record ProjectionAdvanced(
    string Projection,
    long Position,
    IReadOnlyList<int> Parts,
    int Partitions,
    string Worker,
    DateTimeOffset At);
