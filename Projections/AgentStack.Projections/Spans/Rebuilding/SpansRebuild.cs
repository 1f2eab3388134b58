using System.Globalization;
using System.Text;
using AgentStack.Erasure.Keys;
using AgentStack.Events;
using AgentStack.Projections.Analytics;
using AgentStack.Projections.Retention;
using AgentStack.Projections.Running;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AgentStack.Projections.Spans.Rebuilding;

/// <summary>
/// A rebuild's progress: <see cref="Phase"/> is <c>replaying</c> (the log into the new version),
/// <c>switching</c> (catching up with the live tables, comparing, exchanging), <c>done</c> or <c>failed</c>.
/// <see cref="Done"/> and <see cref="Total"/> are log positions; <see cref="Rate"/> events a second.
/// </summary>
public sealed record RebuildProgress(long Version, string Phase, long Done, long Total, double Rate, double? EtaSeconds,
    DateTimeOffset StartedAt, DateTimeOffset? FinishedAt, ParityReport? Parity, string? Error);

/// <summary>
/// Rebuilds the spans projection from position 0 while the current tables keep serving (issue 14.6;
/// docs/projections.md): replays the whole log into a new version of the tables (<c>spans_v{n}</c>,
/// <c>traces_v{n}</c>) with its own checkpoint, then holds the live runner between two batches, brings
/// the new version to exactly the live checkpoint, compares the two (<see cref="ProjectionParity"/>),
/// swaps each pair with <c>EXCHANGE TABLES</c> and drops the old rows. A restart in the middle resumes
/// from the new version's checkpoint: the tables are found by name, and re-applied batches change nothing.
/// </summary>
public sealed partial class SpansRebuild(
    IAnalyticsStore analytics, IEventStore store, ICheckpointStore checkpoints, ProjectionProgress progress,
    ProjectionControl control, ProjectionOptions options, TimeProvider clock, ILogger<SpansRebuild> logger, SubjectKeyring? keyring,
    RetentionPolicies? retention)
    : BackgroundService
{
    private const string Projection = SpansProjection.ProjectionName;
    private readonly Lock sync = new();
    private readonly SemaphoreSlim requested = new(0, 1);
    private RebuildProgress? current;
    private bool running;

    /// <summary>The rebuild under way, or the last one this process finished; null if none.</summary>
    public RebuildProgress? Current
    {
        get
        {
            lock (sync)
                return current;
        }
    }

    /// <summary>
    /// Whether a rebuild is under way: not once its progress says done or failed, though its task may still be unwinding
    /// (a status read between the two said "rebuilding" beside a finished rebuild).
    /// </summary>
    public bool IsRebuilding
    {
        get
        {
            lock (sync)
                return running && current?.Phase is not ("done" or "failed");
        }
    }

    /// <summary>Starts a rebuild unless one is under way; false if one is.</summary>
    public bool TryStart()
    {
        lock (sync)
        {
            if (running)
                return false;
            running = true;
            current = new RebuildProgress(0, "replaying", 0, 0, 0, null, clock.GetUtcNow(), null, null, null);
        }
        requested.Release();
        return true;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            if (await FindVersionAsync(stoppingToken) is not null)
            {
                lock (sync)
                    running = true;
                LogResuming(logger);
                await RunAsync(stoppingToken);
            }
            while (!stoppingToken.IsCancellationRequested)
            {
                await requested.WaitAsync(stoppingToken);
                await RunAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var version = 0L;
        try
        {
            version = await FindVersionAsync(cancellationToken) ?? clock.GetUtcNow().ToUnixTimeMilliseconds();
            await RebuildAsync(version, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            // The new version and its checkpoint stay: the next request (or start) resumes from there.
            LogFailed(logger, e, version);
            Update(p => p with { Phase = "failed", Error = e.Message, FinishedAt = clock.GetUtcNow() });
        }
        finally
        {
            lock (sync)
                running = false;
        }
    }

    private async Task RebuildAsync(long version, CancellationToken cancellationToken)
    {
        var tables = SpansTables.Version(version);
        var checkpoint = string.Create(CultureInfo.InvariantCulture, $"{Projection}@v{version}");
        // Rows carry each project's retention policy, as the live projection writes them (docs/retention.md).
        var projection = new SpansProjection(analytics, tables, retention);
        await SpansSchema.CreateAsync(analytics, tables, cancellationToken);
        // The mark travels with each table through the EXCHANGE: a version table without it holds the rows it replaced.
        foreach (var table in tables.All)
            await analytics.ExecuteAsync($"ALTER TABLE {table} MODIFY COMMENT '{Mark(version)}'", null, cancellationToken);
        var done = (await checkpoints.LoadAsync([checkpoint], cancellationToken))[checkpoint];
        var total = await store.GetLastPositionAsync(cancellationToken);
        var rate = new RateWindow(TimeSpan.FromSeconds(10));
        var startedAt = Current is { Version: 0 } requestedAt ? requestedAt.StartedAt : clock.GetUtcNow();
        rate.Add(clock.GetUtcNow(), done);
        Report("replaying");
        LogStarting(logger, version, done, total);

        // Replay as a pipeline of three stages, each on its own core when one is free (BENCHMARKS.md): the
        // store reads (and opens only what the rows need of) batch n+2 while this loop encodes batch n+1 (RowBinary straight from the stored JSON)
        // and chDB inserts batch n. The checkpoint follows each insert, so a restart resumes after the
        // last batch that landed.
        var next = ReadAsync(done);
        Task inserting = Task.CompletedTask;
        while (true)
        {
            await control.WaitUntilRunningAsync(Projection, cancellationToken);
            var batch = await next;
            if (batch.Events.Count == 0)
                break;
            next = ReadAsync(batch.Events[^1].Position);
            var rows = await projection.EncodeAsync(batch, cancellationToken);
            await inserting;
            inserting = InsertAsync(rows, batch.Events[^1].Position);
        }
        await inserting;

        Task<SpanBatch> ReadAsync(long after) =>
            Task.Run(() => SpanRowsBinary.ReadAsync(store, after, options.RebuildBatchSize, cancellationToken), cancellationToken);

        async Task InsertAsync(SpanRowsEncoded rows, long position)
        {
            using (rows)
                await projection.InsertAsync(rows, cancellationToken);
            done = position;
            await SaveAsync(checkpoint, done, cancellationToken);
            rate.Add(clock.GetUtcNow(), done);
            if (done >= total)
                total = await store.GetLastPositionAsync(cancellationToken);
            Report("replaying");
        }

        // Switch: let the live runner reach the rebuild, hold it between batches, and bring the rebuild to
        // exactly its checkpoint, so both versions describe the same log prefix when they are compared.
        Report("switching");
        // Subjects erased while the log was replayed: their rows went in before their keys were destroyed.
        var erasures = keyring is null ? null : new RebuildErasures(store, keyring, clock);
        var erased = erasures is null ? 0 : await erasures.OverwriteAsync(analytics, tables, cancellationToken);
        await progress.WaitForAsync(Projection, done, cancellationToken);
        ParityReport parity;
        using (await control.HoldAsync(Projection, cancellationToken))
        {
            var names = Enumerable.Range(0, options.Partitions)
                .Select(p => LogPartitions.CheckpointName(Projection, p, options.Partitions)).ToArray();
            // Where the live tables are: the saved checkpoints, or further where this process's runner applied batches
            // it has not saved yet (it saves at most once per CheckpointInterval). Short of that, the rows of those
            // batches would be in the old tables only, and the runner goes on after them.
            var live = Math.Max((await checkpoints.LoadAsync(names, cancellationToken)).Values.Max(), names.Max(progress.PositionOf));
            while (done < live)
            {
                var batch = (await store.ReadAllAsync(done, (int)Math.Min(options.RebuildBatchSize, live - done), cancellationToken))
                    .Where(e => e.Position <= live).ToList();
                if (batch.Count == 0)
                    break;
                await projection.ApplyAsync(batch, cancellationToken);
                done = batch[^1].Position;
                await SaveAsync(checkpoint, done, cancellationToken);
            }
            if (erasures is not null)
                erased += await erasures.OverwriteAsync(analytics, tables, cancellationToken);
            Report("switching");
            parity = await ProjectionParity.CompareAsync(analytics, SpansTables.Current, tables, cancellationToken);
            if (!parity.Equal)
                LogParityDiffers(logger, version, parity.Spans.Rows, parity.Spans.OtherRows, parity.Traces.Rows, parity.Traces.OtherRows);
            // After the comparison, which sees both versions as the projection wrote them: rows written under another
            // policy than the log's now, e.g. one set while the log was replayed (the projection reads a cached copy),
            // get the current one, and rows past it go, as a retention run did in the current tables (docs/retention.md).
            if (retention is not null)
                await ApplyRetentionAsync(tables, cancellationToken);
            // Each EXCHANGE is atomic; both run while the live runner is held, so readers see either
            // version of a table, each complete up to the same position.
            foreach (var (live1, rebuilt) in SpansTables.Current.All.Zip(tables.All))
                await analytics.ExecuteAsync($"EXCHANGE TABLES {live1} AND {rebuilt}", null, cancellationToken);
        }
        try
        {
            foreach (var old in tables.All)
                await analytics.ExecuteAsync($"DROP TABLE IF EXISTS {old} SYNC", null, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The switch is done: the old rows are only left over, and the next start or rebuild drops them.
            LogDropFailed(logger, e, version);
        }
        if (erased > 0)
        {
            // The parts the overwrite replaced hold the plain text until ClickHouse deletes them (docs/privacy.md).
            LogErased(logger, version, erased);
            var pending = await ErasedAnalyticsRows.WaitForReplacedPartsAsync(analytics,
                TimeSpan.FromSeconds(ErasedAnalyticsRows.OldPartsLifetimeSeconds * 3), cancellationToken);
            if (pending.Count > 0)
                LogPartsPending(logger, version, string.Join("; ", pending));
        }
        LogDone(logger, version, done, parity.Equal);
        Update(p => p with { Phase = "done", Done = done, Total = done, Rate = 0, EtaSeconds = 0, FinishedAt = clock.GetUtcNow(), Parity = parity });

        void Report(string phase)
        {
            var now = clock.GetUtcNow();
            var perSecond = rate.PerSecond(now);
            double? eta = perSecond > 0 ? Math.Max(0, total - done) / perSecond : null;
            lock (sync)
                current = new RebuildProgress(version, phase, done, Math.Max(total, done), Math.Round(perSecond, 1),
                    eta is { } e ? Math.Round(e, 1) : null, startedAt, null, null, null);
        }
    }

    private Task SaveAsync(string checkpoint, long position, CancellationToken cancellationToken) =>
        checkpoints.SaveAsync(new Dictionary<string, long>(StringComparer.Ordinal) { [checkpoint] = position }, cancellationToken);

    private void Update(Func<RebuildProgress, RebuildProgress> change)
    {
        lock (sync)
            current = change(current ?? new RebuildProgress(0, "replaying", 0, 0, 0, null, clock.GetUtcNow(), null, null, null));
    }

    /// <summary>The comment a version's tables carry while they hold the rebuilt rows.</summary>
    private static string Mark(long version) => string.Create(CultureInfo.InvariantCulture, $"agentstack rebuild v{version}");

    /// <summary>
    /// The version a rebuild left behind to resume (both of its tables exist and hold the rebuilt rows); null if none.
    /// What a switch left is told by each table's mark (<see cref="Mark"/>), which an EXCHANGE carries along:
    /// <list type="bullet">
    /// <item>both version tables unmarked: the switch was done and only the old rows are left (a drop that failed, a
    /// crash before it): dropped, never swapped back;</item>
    /// <item>one of them unmarked (a crash between the two EXCHANGEs): that pair is swapped back, and the rebuild resumes
    /// and switches both again;</item>
    /// <item>a lone version table (a crash between the two drops): dropped.</item>
    /// </list>
    /// </summary>
    private async Task<long?> FindVersionAsync(CancellationToken cancellationToken)
    {
        var text = Encoding.UTF8.GetString(await analytics.QueryAsync(
            $"SELECT name, comment FROM system.tables WHERE database = '{SpansTables.Database}' AND match(name, '^(spans|traces)_v[0-9]+$')",
            null, "TabSeparated", cancellationToken));
        var versions = text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split('\t') is [var name, var comment] ? (Name: name, Comment: comment) : (Name: line, Comment: ""))
            .GroupBy(t => long.Parse(t.Name.AsSpan(t.Name.LastIndexOf('v') + 1), CultureInfo.InvariantCulture))
            .ToList();
        long? found = null;
        foreach (var version in versions.OrderByDescending(v => v.Key))
        {
            var replaced = version.Where(t => t.Comment != Mark(version.Key)).ToList();
            if (version.Count() == 2 && found is null && replaced.Count < 2)
            {
                foreach (var (name, _) in replaced)
                    await analytics.ExecuteAsync(
                        $"EXCHANGE TABLES {SpansTables.Database}.{name[..name.LastIndexOf('_')]} AND {SpansTables.Database}.{name}", null,
                        cancellationToken);
                found = version.Key;
                continue;
            }
            foreach (var (name, _) in version)
                await analytics.ExecuteAsync($"DROP TABLE IF EXISTS {SpansTables.Database}.{name} SYNC", null, cancellationToken);
        }
        return found;
    }

    /// <summary>Each project's retention policy, read from the log now, applied to the rebuilt <paramref name="tables"/>.</summary>
    private async Task ApplyRetentionAsync(SpansTables tables, CancellationToken cancellationToken)
    {
        var projects = ErasedAnalyticsRows.Lines(await analytics.QueryAsync($"SELECT DISTINCT project FROM {tables.Spans}", null,
            "TabSeparated", cancellationToken)).Select(ErasedAnalyticsRows.Unescape);
        foreach (var project in projects)
        {
            var policy = await retention!.ReadAsync(project, cancellationToken);
            await RetentionTables.ApplyAsync(analytics, null, tables, project, policy.ColumnValue, cancellationToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rebuild v{Version}: switched, but the replaced tables could not be dropped; the next start or rebuild drops them")]
    private static partial void LogDropFailed(ILogger logger, Exception e, long version);

    [LoggerMessage(Level = LogLevel.Information, Message = "Rebuild v{Version}: overwrote {Spans} spans of subjects erased while the log was replayed")]
    private static partial void LogErased(ILogger logger, long version, int spans);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rebuild v{Version}: parts replaced by an erasure are still on disk (name, ClickHouse's reason): {Parts}")]
    private static partial void LogPartsPending(ILogger logger, long version, string parts);

    [LoggerMessage(Level = LogLevel.Information, Message = "Rebuild of the spans projection: resuming the version a restart interrupted")]
    private static partial void LogResuming(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Rebuild v{Version} of the spans projection: replaying from {Position} of {Total}")]
    private static partial void LogStarting(ILogger logger, long version, long position, long total);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rebuild v{Version}: the rebuilt tables differ from the incremental ones (spans {Rows}/{OtherRows}, traces {Traces}/{OtherTraces} rows); switching anyway, the rebuilt ones follow the code now running")]
    private static partial void LogParityDiffers(ILogger logger, long version, long rows, long otherRows, long traces, long otherTraces);

    [LoggerMessage(Level = LogLevel.Information, Message = "Rebuild v{Version} of the spans projection switched at position {Position}; parity {Equal}")]
    private static partial void LogDone(ILogger logger, long version, long position, bool equal);

    [LoggerMessage(Level = LogLevel.Error, Message = "Rebuild v{Version} of the spans projection failed; a new request resumes it")]
    private static partial void LogFailed(ILogger logger, Exception e, long version);
}
