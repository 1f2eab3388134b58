using System.Diagnostics;
using AgentStack.Events;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AgentStack.Projections.Running;

/// <summary>
/// Runs one projection: subscribes to the log from its checkpoint, applies batches, then saves the
/// checkpoint (ARCHITECTURE.md, invariant 4). A failing batch is retried with backoff, never skipped.
/// </summary>
/// <summary>Configuration section <c>AgentStack:Projections</c>.</summary>
public sealed class ProjectionOptions
{
    public const string Section = "AgentStack:Projections";

    /// <summary>The most events applied in one batch.</summary>
    public int BatchSize { get; set; } = 10_000;

    /// <summary>
    /// How long to wait after a batch that was not full before reading the next: the added delay until
    /// new spans are queryable, traded for far fewer ClickHouse parts under load.
    /// </summary>
    public TimeSpan Linger { get; set; } = TimeSpan.FromMilliseconds(200);
}

public sealed partial class ProjectionRunner(
    IProjection projection, IEventStore store, ICheckpointStore checkpoints, ProjectionProgress progress,
    ILogger<ProjectionRunner> logger, ProjectionOptions options) : BackgroundService
{
    public static readonly ActivitySource Source = new("AgentStack.Projections");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromMilliseconds(200);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var position = await checkpoints.LoadAsync(projection.Name, stoppingToken);
                progress.Report(projection.Name, position);
                LogStarting(logger, projection.Name, position);
                await foreach (var batch in store.SubscribeAsync(position, options.BatchSize, stoppingToken))
                {
                    using var activity = Source.StartActivity($"project {projection.Name}");
                    activity?.SetTag("agentstack.projection", projection.Name);
                    activity?.SetTag("agentstack.batch.size", batch.Count);
                    await projection.ApplyAsync(batch, stoppingToken);
                    await checkpoints.SaveAsync(projection.Name, batch[^1].Position, stoppingToken);
                    progress.Report(projection.Name, batch[^1].Position);
                    delay = TimeSpan.FromMilliseconds(200);
                    // Under load, let the next batch grow for a moment: every ClickHouse insert makes a part
                    // that background merges must rewrite, so a few large inserts beat many small ones.
                    if (batch.Count < options.BatchSize && options.Linger > TimeSpan.Zero)
                        await Task.Delay(options.Linger, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                progress.ReportError(projection.Name, e.Message);
                LogFailed(logger, e, projection.Name, delay);
                await Task.Delay(delay, stoppingToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Projection {Projection} starting after position {Position}")]
    private static partial void LogStarting(ILogger logger, string projection, long position);

    [LoggerMessage(Level = LogLevel.Error, Message = "Projection {Projection} failed; retrying from its checkpoint in {Delay}")]
    private static partial void LogFailed(ILogger logger, Exception e, string projection, TimeSpan delay);
}
