using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AgentStack.Projections.Running;

/// <summary>
/// Where a projection's work is spread over parts and processes, or done in another process (the
/// queries host), its position is the lowest of its parts' saved checkpoints: everything up to it is
/// queryable. Polls them into <see cref="ProjectionProgress"/>, so the status and wait endpoints work
/// the same in every topology.
/// </summary>
public sealed partial class CheckpointProgressPoller(
    ICheckpointStore checkpoints, ProjectionProgress progress, ProjectionOptions options, ILogger<CheckpointProgressPoller> logger)
    : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        const string projection = Spans.SpansProjection.ProjectionName;
        var names = Enumerable.Range(0, options.Partitions)
            .Select(p => LogPartitions.CheckpointName(projection, p, options.Partitions)).ToArray();
        using var timer = new PeriodicTimer(Interval);
        do
        {
            try
            {
                var saved = await checkpoints.LoadAsync(names, stoppingToken);
                progress.Report(projection, saved.Values.Min());
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The schema may not exist yet (no worker has started) or the server is away: try again.
                LogPollFailed(logger, e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not read projection checkpoints: {Reason}")]
    private static partial void LogPollFailed(ILogger logger, string reason);
}
