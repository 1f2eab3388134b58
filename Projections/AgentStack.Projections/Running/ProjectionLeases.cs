namespace AgentStack.Projections.Running;

/// <summary>Which parts of the log this worker projects (issue 4: projection workers scale out).</summary>
public interface IProjectionLeases
{
    /// <summary>
    /// Renews this worker's leases and takes or hands back parts toward an even share among the live
    /// workers; returns the parts this worker owns until the next call (due within a third of the lease).
    /// </summary>
    Task<IReadOnlySet<int>> BalanceAsync(string projection, int partitions, CancellationToken cancellationToken);

    /// <summary>Hands every part back on a clean stop, so the other workers take over without waiting for expiry.</summary>
    Task ReleaseAllAsync(string projection, CancellationToken cancellationToken);
}

/// <summary>One worker owns every part: the embedded default and any single projection process.</summary>
public sealed class SoleWorkerLeases : IProjectionLeases
{
    public Task<IReadOnlySet<int>> BalanceAsync(string projection, int partitions, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlySet<int>>(Enumerable.Range(0, partitions).ToHashSet());

    public Task ReleaseAllAsync(string projection, CancellationToken cancellationToken) => Task.CompletedTask;
}
