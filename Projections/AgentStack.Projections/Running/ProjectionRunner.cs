using System.Diagnostics;
using AgentStack.Events;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AgentStack.Projections.Running;

/// <summary>
/// Runs one projection over the parts of the log this worker holds leases for: reads the log once from
/// the lowest of their checkpoints, applies the events of its parts in batches, then saves every held
/// part's checkpoint (docs/architecture.md, invariant 4). When the leases change (a worker joined, left or
/// died) it starts again from the checkpoints of the parts it holds now. A failing batch is retried
/// with backoff, never skipped.
/// </summary>
public sealed partial class ProjectionRunner(
    IProjection projection, IEventStore store, ICheckpointStore checkpoints, IProjectionLeases leases,
    ProjectionProgress progress, IProjectionNotifier notifier, TimeProvider clock, ILogger<ProjectionRunner> logger,
    ProjectionOptions options, ProjectionControl control, PriorityScheduler? scheduler = null)
    : BackgroundService
{
    public static readonly ActivitySource Source = new("AgentStack.Projections");

    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(200);

    private TimeSpan RenewEvery => options.LeaseDuration / 3;

    /// <summary>
    /// How long the next failure waits before its retry: doubled by each failure in a row, back to the first once a batch
    /// is applied, so that a failure hours after the last is retried as soon as the first was.
    /// </summary>
    private TimeSpan retryDelay = FirstRetry;

    /// <summary>
    /// Announces the projection before the host listens (hosted services start first): its checkpoint is loaded later,
    /// and a wait asked for as soon as the host is ready must find it. Only where this runner is sure to run it whole:
    /// a projection shared with other workers is known by what its holders report.
    /// </summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.SharesWork)
            progress.Announce(projection.Name);
        return base.StartAsync(cancellationToken);
    }

    /// <summary>On its scheduler's threads when it has one (<see cref="RunnerThreads"/>), at their priority; on the pool otherwise.</summary>
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        scheduler is null ? RunAsync(stoppingToken) : scheduler.Run(() => RunAsync(stoppingToken), stoppingToken);

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        // The parts a failure is reported on, under each part's checkpoint name (the projection's own when it is one
        // part): every part while this process runs them all, the projection's own name then too; else the parts it held last.
        IReadOnlySet<int> parts = options.SharesWork ? new HashSet<int>() : Enumerable.Range(0, options.Partitions).ToHashSet();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var held = await leases.BalanceAsync(projection.Name, options.Partitions, stoppingToken);
                foreach (var part in parts.Except(held))
                    progress.Withdraw(LogPartitions.CheckpointName(projection.Name, part, options.Partitions));
                parts = held;
                if (held.Count == 0)
                {
                    await Task.Delay(RenewEvery, stoppingToken);
                    continue;
                }
                LogHolding(logger, projection.Name, options.WorkerId, string.Join(',', held.Order()), options.Partitions);
                using var holding = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                var keeper = KeepLeasesAsync(held, holding);
                try
                {
                    await ProjectAsync(held, holding.Token);
                }
                catch (OperationCanceledException) when (holding.IsCancellationRequested && !stoppingToken.IsCancellationRequested)
                {
                    // The leases changed: start again with the parts held now.
                }
                finally
                {
                    await holding.CancelAsync();
                    await keeper;
                }
                retryDelay = FirstRetry;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                foreach (var part in parts)
                    progress.ReportError(LogPartitions.CheckpointName(projection.Name, part, options.Partitions), e.Message);
                if (ReportsWhole)
                    progress.ReportError(projection.Name, e.Message);
                LogFailed(logger, e, projection.Name, retryDelay);
                await Task.Delay(retryDelay, stoppingToken);
                retryDelay = TimeSpan.FromTicks(Math.Min(retryDelay.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await leases.ReleaseAllAsync(projection.Name, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogReleaseFailed(logger, e, projection.Name);
        }
    }

    private async Task ProjectAsync(IReadOnlySet<int> held, CancellationToken cancellationToken)
    {
        var names = held.ToDictionary(p => p, p => LogPartitions.CheckpointName(projection.Name, p, options.Partitions));
        var saved = await checkpoints.LoadAsync(names.Values, cancellationToken);
        var positions = names.ToDictionary(n => n.Key, n => saved[n.Value]);
        // Retrying a failed batch, these were reported before: the error stays shown until a batch moves them forward
        // or the log is caught up.
        foreach (var (part, at) in positions)
            progress.Report(names[part], at);
        var from = positions.Values.Min();
        ReportWhole(from);
        LogStarting(logger, projection.Name, from);

        // Applied but not saved yet: saved once CheckpointInterval has passed, or as soon as the log is caught up.
        long? unsaved = null;
        var savedAt = clock.GetTimestamp();
        async Task SaveUnsavedAsync(CancellationToken ct)
        {
            if (unsaved is not { } position)
                return;
            await checkpoints.SaveAsync(names.Values.ToDictionary(n => n, _ => position, StringComparer.Ordinal), ct);
            unsaved = null;
            savedAt = clock.GetTimestamp();
        }

        // The log has nothing more for now and what was applied is saved: a failure before has recovered, whether or
        // not the position moved since (it clears the error the status shows).
        async Task CaughtUpAsync(CancellationToken ct)
        {
            await SaveUnsavedAsync(ct);
            foreach (var name in names.Values)
                progress.ReportCaughtUp(name);
            if (ReportsWhole)
                progress.ReportCaughtUp(projection.Name);
        }

        var scope = projection.Reads;
        Func<long, int, CancellationToken, Task<IReadOnlyList<StoredEvent>>> readScope =
            scope == EventDataScope.All ? store.ReadAllAsync : (after, count, ct) => store.ReadAllAsync(after, count, scope, ct);
        // How long the reads of the current batch took, waits for new events between them left out: part of the
        // projection's work, which a projection on a CPU budget rests after (a detector behind the buffer of opened
        // events reads and opens its spans from the store).
        var reading = TimeSpan.Zero;
        async Task<IReadOnlyList<StoredEvent>> Read(long after, int count, CancellationToken ct)
        {
            var started = clock.GetTimestamp();
            try
            {
                return await readScope(after, count, ct);
            }
            finally
            {
                reading += clock.GetElapsedTime(started);
            }
        }

        var position = from;
        while (!cancellationToken.IsCancellationRequested)
        {
            // The batch lives in ReadAndApplyAsync only, and is let go before the wait below: the events and their
            // data, copied for this projection, would otherwise outlive a collection during the wait and be copied
            // again by it (BENCHMARKS.md, "Twentieth sitting").
            var (count, sinceRead, applying) = await ReadAndApplyAsync(cancellationToken);
            // Under load, let the next batch grow for what remains of the linger: every ClickHouse insert makes a part
            // that background merges must rewrite, so a few large inserts beat many small ones. A projection on a
            // budget rests longer.
            var linger = options.LingerAfter(count, sinceRead);
            var rest = projection.RestAfter(applying + reading);
            var wait = rest > linger ? rest : linger;
            if (wait > TimeSpan.Zero)
                await Task.Delay(wait, cancellationToken);
        }

        // Reads the next batch, applies the events of the held parts, saves the checkpoints when due; returns the
        // batch's size, the time from its read to its end, and the time the projection took to apply it (a pause is
        // not the projection's work, and its rest is counted from its work: this and the batch's reads).
        async Task<(int Count, TimeSpan SinceRead, TimeSpan Applying)> ReadAndApplyAsync(CancellationToken ct)
        {
            reading = TimeSpan.Zero;
            var batch = await store.NextBatchAsync(position, options.BatchSize, ct, CaughtUpAsync, Read);
            var received = clock.GetTimestamp();
            // Paused, or held by a rebuild switching tables (issue 14.6): wait here, between batches.
            using var entered = await control.EnterBatchAsync(projection.Name, ct);
            var applying = TimeSpan.Zero;
            var mine = options.Partitions == 1
                ? batch
                : batch.Where(e => positions.TryGetValue(LogPartitions.Of(e.Stream, options.Partitions), out var at) && e.Position > at).ToList();
            if (mine.Count > 0)
            {
                using var activity = Source.StartActivity($"project {projection.Name}");
                activity?.SetTag("agentstack.projection", projection.Name);
                activity?.SetTag("agentstack.batch.size", mine.Count);
                activity?.SetTag("agentstack.projection.parts", held.Count);
                var started = clock.GetTimestamp();
                await projection.ApplyAsync(mine, ct);
                applying = clock.GetElapsedTime(started);
            }
            // Every held part has now seen the log up to the batch's end, whether it had events in it or not.
            var last = batch[^1].Position;
            unsaved = last;
            if (clock.GetElapsedTime(savedAt) >= options.CheckpointInterval)
                await SaveUnsavedAsync(ct);
            foreach (var part in held)
            {
                positions[part] = last;
                progress.Report(names[part], last);
            }
            ReportWhole(last);
            await notifier.AdvancedAsync(new ProjectionAdvanced(projection.Name, last, [.. held.Order()], options.Partitions,
                options.WorkerId, clock.GetUtcNow()), ct);
            position = last;
            retryDelay = FirstRetry;
            return (batch.Count, clock.GetElapsedTime(received), applying);
        }
    }

    /// <summary>
    /// Where this process projects every part of the log, it reports the projection under its own name too: at the
    /// position all its parts have reached, as the wait, pause and resume endpoints take the projection's name, not a
    /// part's; and with the error its parts failed with, one apply covering them all, so that the projection's own row
    /// of the status does not look well while its parts fail.
    /// </summary>
    private bool ReportsWhole => options.Partitions > 1 && !options.SharesWork;

    private void ReportWhole(long position)
    {
        if (ReportsWhole)
            progress.Report(projection.Name, position);
    }

    /// <summary>Renews the leases every third of their duration; cancels the projecting when the held parts change.</summary>
    private async Task KeepLeasesAsync(IReadOnlySet<int> held, CancellationTokenSource holding)
    {
        while (!holding.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(RenewEvery, holding.Token);
                var now = await leases.BalanceAsync(projection.Name, options.Partitions, holding.Token);
                if (!now.SetEquals(held))
                {
                    LogLeasesChanged(logger, projection.Name, string.Join(',', held.Order()), string.Join(',', now.Order()));
                    await holding.CancelAsync();
                    return;
                }
            }
            catch (OperationCanceledException) when (holding.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Keep projecting: should the lease expire meanwhile, a successor re-applies the same
                // batches, which the replacing tables absorb.
                LogRenewFailed(logger, e, projection.Name);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Projection {Projection}: worker {Worker} holds parts {Parts} of {Partitions}")]
    private static partial void LogHolding(ILogger logger, string projection, string worker, string parts, int partitions);

    [LoggerMessage(Level = LogLevel.Information, Message = "Projection {Projection} starting after position {Position}")]
    private static partial void LogStarting(ILogger logger, string projection, long position);

    [LoggerMessage(Level = LogLevel.Information, Message = "Projection {Projection}: leases changed from parts {Before} to {After}")]
    private static partial void LogLeasesChanged(ILogger logger, string projection, string before, string after);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Projection {Projection}: could not renew leases; still projecting")]
    private static partial void LogRenewFailed(ILogger logger, Exception e, string projection);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Projection {Projection}: could not hand back leases on stop; they expire by themselves")]
    private static partial void LogReleaseFailed(ILogger logger, Exception e, string projection);

    [LoggerMessage(Level = LogLevel.Error, Message = "Projection {Projection} failed; retrying from its checkpoint in {Delay}")]
    private static partial void LogFailed(ILogger logger, Exception e, string projection, TimeSpan delay);
}
