using System.Globalization;
using AgentStack.Access;
using AgentStack.Erasure.Keys;
using AgentStack.Events;
using AgentStack.Projections.Analytics;
using AgentStack.Projections.Retention;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentStack.Queries.Retention;

/// <summary>Section <c>AgentStack:Retention</c> (docs/retention.md).</summary>
public sealed class RetentionOptions
{
    public const string Section = "AgentStack:Retention";

    /// <summary>False turns the worker off in this host (policies are still set and shown).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Seconds between two runs over every project; a policy change runs it at once.</summary>
    public int IntervalSeconds { get; set; } = 3600;
}

/// <summary>
/// Applies each project's retention policy (issue 17.3, docs/retention.md): destroys the payload keys of every day
/// before the cutoff (the payloads they sealed then read as erased; the log's bytes and hash chain do not change),
/// has the analytics rows past the policy deleted (ClickHouse TTL), and records what it removed as
/// <c>retention.applied.v1</c> in stream <c>retention-{project}</c>. Idempotent: a run with nothing to remove
/// records nothing, so several hosts may run it.
/// </summary>
public sealed partial class RetentionRun(IAccessStore access, RetentionPolicies policies, SubjectKeyring keyring, IEventStore events,
    IAnalyticsStore analytics, IOptions<AnalyticsOptions> analyticsOptions, TimeProvider clock, ILogger<RetentionRun> logger)
{
    public const string Actor = "retention";

    /// <summary>
    /// The first day whose payloads are kept: keys of earlier days (UTC, the day each span started) are destroyed.
    /// A span of that day or later may be younger than the policy; older days are past it entirely.
    /// </summary>
    public static DateOnly CutoffDay(DateTimeOffset now, int days) => DateOnly.FromDateTime(now.UtcDateTime).AddDays(-days);

    /// <summary>Applies every project's policy; a project that fails is logged and left to the next run, the others go on.</summary>
    public async Task<IReadOnlyList<RetentionApplied>> ApplyAllAsync(CancellationToken ct)
    {
        var applied = new List<RetentionApplied>();
        foreach (var project in await access.ListProjectsAsync(ct))
        {
            try
            {
                if (await ApplyAsync(project.Id, ct) is { } run)
                    applied.Add(run);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                LogProjectFailed(logger, project.Id, e);
            }
        }
        return applied;
    }

    /// <summary>Applies the project's policy; the recorded event when something was removed, else null.</summary>
    public async Task<RetentionApplied?> ApplyAsync(string project, CancellationToken ct)
    {
        var policy = await policies.GetAsync(project, ct);
        var cluster = analyticsOptions.Value.Cluster;
        if (policy.Days is not { } days)
        {
            // Rows written under an earlier policy are kept again (0) and nothing expires.
            await RetentionTables.ApplyAsync(analytics, cluster, project, 0, ct);
            return null;
        }
        var now = clock.GetUtcNow();
        var cutoff = CutoffDay(now, days);
        var cutoffAt = new DateTimeOffset(cutoff.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var keys = keyring.EraseBefore(project, int.Parse(cutoff.ToString("yyyyMMdd", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture));
        (long Spans, long Traces, long Findings) expired;
        try
        {
            expired = await RetentionTables.ApplyAsync(analytics, cluster, project, days, ct);
        }
        catch when (keys.Count > 0)
        {
            // The keys are gone and no later run finds them again, so they are recorded now (docs/retention.md: a run
            // that destroyed keys records them), also when the run is being cancelled; the rows wait for a later run,
            // which records them.
            await RecordAsync(new RetentionApplied(project, days, cutoffAt, keys, 0, 0, now, Actor), CancellationToken.None);
            throw;
        }
        if (keys.Count == 0 && expired is (0, 0, 0))
            return null;
        var run = new RetentionApplied(project, days, cutoffAt, keys, expired.Spans, expired.Traces, now, Actor, expired.Findings);
        await RecordAsync(run, ct);
        return run;
    }

    private Task RecordAsync(RetentionApplied run, CancellationToken ct) =>
        events.AppendAsync(RetentionStream.Name(run.Project), StreamAppend.Any, [EventTypes.Serialize(run)], ct);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retention of project {Project} failed; the next run tries again")]
    private static partial void LogProjectFailed(ILogger logger, string project, Exception exception);
}

/// <summary>Runs <see cref="RetentionRun"/> every <see cref="RetentionOptions.IntervalSeconds"/>, and at once when a policy changes.</summary>
public sealed partial class RetentionWorker(RetentionRun run, IOptions<RetentionOptions> options, ILogger<RetentionWorker> logger) : BackgroundService
{
    private readonly SemaphoreSlim wake = new(0, 1);

    /// <summary>Asks for a run now (a policy was set in this process).</summary>
    public void Trigger()
    {
        try
        {
            wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // A run is asked for already.
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled)
            return;
        var interval = TimeSpan.FromSeconds(Math.Max(1, options.Value.IntervalSeconds));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                foreach (var applied in await run.ApplyAllAsync(stoppingToken))
                    LogApplied(logger, applied.Project, applied.RetentionDays, applied.KeyIds.Count, applied.SpansExpired, applied.TracesExpired);
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                LogFailed(logger, e);
            }
            try
            {
                await wake.WaitAsync(interval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public override void Dispose()
    {
        wake.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Retention of project {Project} ({Days} days): {Keys} payload keys destroyed, {Spans} spans and {Traces} traces expired")]
    private static partial void LogApplied(ILogger logger, string project, int days, int keys, long spans, long traces);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retention run failed; the next run tries again")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
