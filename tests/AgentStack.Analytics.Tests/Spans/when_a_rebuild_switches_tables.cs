using System.Collections.Concurrent;
using System.Text.Json;
using AgentStack.Erasure.Keys;
using AgentStack.Erasure.Sealing;
using AgentStack.Events;
using AgentStack.EventStore.Sqlite;
using AgentStack.Projections.Analytics;
using AgentStack.Projections.Analytics.ChDb;
using AgentStack.Projections.Retention;
using AgentStack.Projections.Running;
using AgentStack.Projections.Spans;
using AgentStack.Projections.Spans.Rebuilding;
using Microsoft.Extensions.Logging.Abstractions;
using static AgentStack.Analytics.Tests.ChDbTestEngine;

namespace AgentStack.Analytics.Tests.Spans;

/// <summary>
/// Issue 14.6: the rebuild switches to the new tables while the live runner keeps applying, and what it leaves behind
/// never undoes the switch, nor an erasure made while it replayed. A rebuild swaps the engine's current tables, so this
/// class has an engine of its own. The log is sealed as the server seals it (docs/privacy.md).
/// </summary>
[Collection(typeof(EngineLifetimeCollection))]
public sealed class when_a_rebuild_switches_tables : IAsyncLifetime
{
    private readonly string directory = NewDataPath("rebuild-switch");
    private readonly MemoryCheckpoints checkpoints = new();
    private readonly ProjectionProgress progress = new();
    private readonly ProjectionControl control = new();
    private ChDbAnalyticsStore analytics = null!;
    private SqliteEventStore raw = null!;
    private SubjectKeyring keys = null!;
    private SealingEventStore store = null!;

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(directory);
        analytics = new ChDbAnalyticsStore(Options(Path.Combine(directory, "chdb")));
        await AnalyticsSchema.ApplyAsync(analytics, Ct);
        raw = new SqliteEventStore(new SqliteEventStoreOptions(Path.Combine(directory, "events.db")), TimeProvider.System);
        keys = new SubjectKeyring(new SqliteSubjectKeyStore(Path.Combine(directory, "keys.db"), KeyWrapping.None), TimeSpan.FromMinutes(1));
        store = new SealingEventStore(raw, new PayloadSealer(keys));
    }

    public async ValueTask DisposeAsync()
    {
        await raw.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        analytics.Dispose();
        Directory.Delete(directory, recursive: true);
    }

    private async Task AppendTracesAsync(int from, int count)
    {
        for (var t = from; t < from + count; t++)
        {
            var span = SpanLog.Span($"t{t}", "root", null, $"run {t}", SpanLog.T0.AddSeconds(t), 100);
            await store.AppendAsync(TraceStream.Name("p", span.TraceId), StreamAppend.NoStream,
                [EventTypes.Serialize(new SpanCompleted("p", span, "h", SpanLog.T0, "key"))], Ct);
        }
    }

    /// <summary>The live runner of the spans projection.</summary>
    private ProjectionRunner Runner(ProjectionOptions options) => new(new SpansProjection(analytics), store, checkpoints,
        new SoleWorkerLeases(), progress, new NoProjectionNotifier(), TimeProvider.System, NullLogger<ProjectionRunner>.Instance, options, control);

    /// <summary>A rebuild service (a process's), on <paramref name="engine"/>.</summary>
    private SpansRebuild Rebuild(IAnalyticsStore engine, ProjectionOptions options, RetentionPolicies? policies = null) => new(engine,
        store, checkpoints, progress, control, options, TimeProvider.System, NullLogger<SpansRebuild>.Instance, keys,
        policies ?? new RetentionPolicies(store, TimeProvider.System));

    /// <summary>Five traces in the log, and in the current tables beside them a trace the log does not hold: the rows a
    /// rebuild replaces (made by earlier code, say).</summary>
    private async Task LogAndReplacedRowsAsync()
    {
        await AppendTracesAsync(1, 5);
        var ghost = SpanLog.Span("ghost", "root", null, "old rows", SpanLog.T0, 100);
        await new SpansProjection(analytics).ApplyAsync(
            [new StoredEvent(1000, "trace-p-ghost", 1, EventTypes.SpanCompleted, SpanLog.T0,
                EventTypes.Serialize(new SpanCompleted("p", ghost, "h", SpanLog.T0, "key")).Data, "h", "")], Ct);
    }

    /// <summary>
    /// The runner saves its checkpoint at most once per <see cref="ProjectionOptions.CheckpointInterval"/>, so when the
    /// rebuild holds it, it may have applied batches it has not saved yet: the new tables must hold those too, or the
    /// runner, going on from where it is, never writes them again.
    /// </summary>
    [Fact]
    public async Task then_the_new_tables_hold_what_the_runner_applied_and_had_not_saved()
    {
        await AppendTracesAsync(1, 5);
        // The runner saves only when it has caught up, and rests long after a batch that is not full: it holds what it
        // applied unsaved while the rebuild switches.
        var options = new ProjectionOptions { CheckpointInterval = TimeSpan.FromHours(1), Linger = TimeSpan.FromSeconds(30) };
        using var rebuild = Rebuild(analytics, options);
        await rebuild.StartAsync(Ct);
        rebuild.TryStart().ShouldBeTrue();
        // Replayed positions 1-5; it now waits for the live runner to reach them.
        await WaitForAsync(() => rebuild.Current?.Phase is "switching" or "done" or "failed");

        await AppendTracesAsync(6, 5);
        using var runner = Runner(options);
        await runner.StartAsync(Ct);
        try
        {
            await WaitForAsync(() => rebuild.Current?.Phase is "done" or "failed");
            var done = rebuild.Current!;
            done.Phase.ShouldBe("done", done.Error);
            (await checkpoints.LoadAsync([SpansProjection.ProjectionName], Ct))[SpansProjection.ProjectionName].ShouldBe(0L, "saved");
            done.Done.ShouldBe(10L);
            done.Parity!.Equal.ShouldBeTrue(done.Parity.ToString());
            (await analytics.QueryTextAsync("SELECT count() FROM agentstack.spans FINAL WHERE project = 'p'")).ShouldBe("10");
            (await analytics.QueryTextAsync("SELECT count() FROM agentstack.traces FINAL WHERE project = 'p'")).ShouldBe("10");
        }
        finally
        {
            await runner.StopAsync(CancellationToken.None);
            await rebuild.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>
    /// After the EXCHANGEs the version's tables hold the replaced rows. A drop of them that fails (or a crash before it)
    /// leaves them behind: the rebuild is still done, and neither a restart nor the next rebuild swaps them back.
    /// </summary>
    [Fact]
    public async Task then_replaced_tables_left_behind_are_dropped_and_never_swapped_back()
    {
        await LogAndReplacedRowsAsync();
        var options = new ProjectionOptions { Linger = TimeSpan.Zero };
        var failingDrop = new FailingStatements(analytics, "DROP TABLE IF EXISTS agentstack.spans_v");
        using var runner = Runner(options);
        await runner.StartAsync(Ct);
        try
        {
            using (var rebuild = Rebuild(failingDrop, options))
            {
                await rebuild.StartAsync(Ct);
                rebuild.TryStart().ShouldBeTrue();
                await WaitForAsync(() => rebuild.Current?.Phase is "done" or "failed");
                rebuild.Current!.Phase.ShouldBe("done", rebuild.Current.Error);
                await rebuild.StopAsync(CancellationToken.None);
            }
            failingDrop.Failed.ShouldBeGreaterThan(0);
            (await analytics.QueryTextAsync("SELECT count() FROM system.tables WHERE database = 'agentstack' AND match(name, '_v[0-9]+$')"))
                .ShouldBe("2", "the replaced tables are left behind");

            // A restart: the rebuild service looks for a version to resume, and finds only the replaced rows.
            using (var restarted = Rebuild(analytics, options))
            {
                await restarted.StartAsync(Ct);
                await WaitForAsync(async () => await analytics.QueryTextAsync(
                    "SELECT count() FROM system.tables WHERE database = 'agentstack' AND match(name, '_v[0-9]+$')") == "0");
                await restarted.StopAsync(CancellationToken.None);
            }
            (await analytics.QueryTextAsync("SELECT count() FROM agentstack.spans FINAL WHERE project = 'p'")).ShouldBe("5");
            (await analytics.QueryTextAsync("SELECT count() FROM agentstack.spans FINAL WHERE trace_id = 'ghost'")).ShouldBe("0");
        }
        finally
        {
            await runner.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>
    /// A switch cut between its two EXCHANGEs (a crash, a failure) leaves one version table holding replaced rows and
    /// the other the rebuilt ones: the next start swaps the first pair back and switches both again.
    /// </summary>
    [Fact]
    public async Task then_a_switch_cut_between_its_two_exchanges_is_made_whole_on_restart()
    {
        await LogAndReplacedRowsAsync();
        var options = new ProjectionOptions { Linger = TimeSpan.Zero };
        using var runner = Runner(options);
        await runner.StartAsync(Ct);
        try
        {
            using (var cut = Rebuild(new FailingStatements(analytics, "EXCHANGE TABLES agentstack.traces"), options))
            {
                await cut.StartAsync(Ct);
                cut.TryStart().ShouldBeTrue();
                await WaitForAsync(() => cut.Current?.Phase is "done" or "failed");
                cut.Current!.Phase.ShouldBe("failed");
                await cut.StopAsync(CancellationToken.None);
            }
            (await analytics.QueryTextAsync("SELECT count() FROM agentstack.spans FINAL WHERE trace_id = 'ghost'")).ShouldBe("0", "spans switched");
            (await analytics.QueryTextAsync("SELECT count() FROM agentstack.traces FINAL WHERE trace_id = 'ghost'")).ShouldBe("1", "traces not");

            using (var restarted = Rebuild(analytics, options))
            {
                await restarted.StartAsync(Ct);
                await WaitForAsync(() => restarted.Current?.Phase is "done" or "failed");
                restarted.Current!.Phase.ShouldBe("done", restarted.Current.Error);
                restarted.Current.Parity!.Equal.ShouldBeFalse("the replaced rows held the ghost");
                await restarted.StopAsync(CancellationToken.None);
            }
            foreach (var table in new[] { "spans", "traces" })
            {
                (await analytics.QueryTextAsync($"SELECT count() FROM agentstack.{table} FINAL WHERE project = 'p'")).ShouldBe("5", table);
                (await analytics.QueryTextAsync($"SELECT count() FROM agentstack.{table} FINAL WHERE trace_id = 'ghost'")).ShouldBe("0", table);
            }
            (await analytics.QueryTextAsync("SELECT count() FROM system.tables WHERE database = 'agentstack' AND match(name, '_v[0-9]+$')"))
                .ShouldBe("0");
        }
        finally
        {
            await runner.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>A rebuild writes each project's retention policy into its rows, as the live projection does.</summary>
    [Fact]
    public async Task then_the_rebuilt_rows_carry_their_projects_retention()
    {
        await AppendTracesAsync(1, 3);
        // A century: the rows must not expire while the test reads them.
        await store.AppendAsync(AccessStream.Name("p"), StreamAppend.Any,
            [EventTypes.Serialize(new RetentionPolicySet("p", 36500, "key", DateTimeOffset.UtcNow))], Ct);
        await RebuildBesideTheLiveRunnerAsync();
        (await analytics.QueryTextAsync("SELECT groupUniqArray(retention_days) FROM agentstack.spans FINAL WHERE project = 'p'")).ShouldBe("[36500]");
        (await analytics.QueryTextAsync("SELECT groupUniqArray(retention_days) FROM agentstack.traces FINAL WHERE project = 'p'")).ShouldBe("[36500]");
    }

    /// <summary>
    /// A policy set while the rebuild replayed reached its rows late: the projection reads a cached copy of each
    /// project's policy, here still none. A retention run meanwhile deleted the project's old rows from the current
    /// tables and destroyed their keys; they must not come back, in plain text, with the switch.
    /// </summary>
    [Fact]
    public async Task then_rows_past_a_policy_set_while_it_replayed_do_not_come_back()
    {
        await AppendTracesAsync(1, 2);
        var days = (int)(DateTimeOffset.UtcNow - SpanLog.T0).TotalDays + 30;
        var old = SpanLog.Span("old", "root", null, "old run", DateTimeOffset.UtcNow.AddDays(-days - 10), 100) with
        {
            Input = JsonDocument.Parse("""{"prompt":"past its retention"}""").RootElement.Clone(),
        };
        await store.AppendAsync(TraceStream.Name("p", old.TraceId), StreamAppend.NoStream,
            [EventTypes.Serialize(new SpanCompleted("p", old, "h", SpanLog.T0, "key"))], Ct);
        var policies = new RetentionPolicies(store, TimeProvider.System);
        (await policies.GetAsync("p", Ct)).Days.ShouldBeNull();
        await store.AppendAsync(AccessStream.Name("p"), StreamAppend.Any,
            [EventTypes.Serialize(new RetentionPolicySet("p", days, "key", DateTimeOffset.UtcNow))], Ct);
        await RebuildBesideTheLiveRunnerAsync(policies);
        (await analytics.QueryTextAsync("SELECT count() FROM agentstack.spans WHERE trace_id = 'old'")).ShouldBe("0");
        (await analytics.QueryTextAsync("SELECT count() FROM agentstack.traces WHERE trace_id = 'old'")).ShouldBe("0");
        (await analytics.QueryTextAsync($"SELECT groupUniqArray(retention_days) FROM agentstack.spans FINAL WHERE project = 'p'"))
            .ShouldBe($"[{days}]");
    }

    /// <summary>A whole rebuild, done, while the live runner applies; <paramref name="policies"/> are the rebuild's.</summary>
    private async Task RebuildBesideTheLiveRunnerAsync(RetentionPolicies? policies = null)
    {
        var options = new ProjectionOptions { Linger = TimeSpan.Zero };
        using var runner = Runner(options);
        await runner.StartAsync(Ct);
        try
        {
            using var rebuild = Rebuild(analytics, options, policies);
            await rebuild.StartAsync(Ct);
            rebuild.TryStart().ShouldBeTrue();
            await WaitForAsync(() => rebuild.Current?.Phase is "done" or "failed");
            rebuild.Current!.Phase.ShouldBe("done", rebuild.Current.Error);
            await rebuild.StopAsync(CancellationToken.None);
        }
        finally
        {
            await runner.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>
    /// Alice's and Bob's spans, two each, with their prompts and subjects, sealed as the server seals them; alice's
    /// <c>user.id</c> is the JSON value <paramref name="alice"/>.
    /// </summary>
    private async Task AppendSubjectsSpansAsync(string alice = "\"alice\"")
    {
        for (var t = 1; t <= 4; t++)
        {
            var user = t % 2 == 0 ? "alice" : "bob";
            var span = SpanLog.Span($"t{t}", "root", null, $"run {t}", SpanLog.T0.AddSeconds(t), 100) with
            {
                Input = JsonDocument.Parse($$"""{"prompt":"secret of {{user}} {{t}}"}""").RootElement.Clone(),
                Attributes = JsonDocument.Parse($$"""{"user.id":{{(user == "alice" ? alice : "\"bob\"")}}}""").RootElement.Clone(),
            };
            await store.AppendAsync(TraceStream.Name("p", span.TraceId), StreamAppend.NoStream,
                [EventTypes.Serialize(new SpanCompleted("p", span, "h", SpanLog.T0, "key"))], Ct);
        }
    }

    /// <summary>Erases alice (her subject <paramref name="subject"/>) as the erase endpoint does it: her keys, then the log, then the current tables.</summary>
    private async Task EraseAliceAsync(string subject = "alice")
    {
        var destroyed = keys.Erase("p", subject);
        destroyed.ShouldNotBeEmpty();
        await store.AppendAsync(SubjectStream.Name("p"), StreamAppend.Any,
            [EventTypes.Serialize(new SubjectErased("p", keys.SubjectHash("p", subject), destroyed, "request", DateTimeOffset.UtcNow, "test"))], Ct);
        (await ErasedAnalyticsRows.OverwriteAsync(analytics, SpansTables.Current, null, "p", subject, Ct)).ShouldBe(2);
    }

    private async Task AliceIsErasedAndBobIsNotAsync(RebuildProgress? done)
    {
        done.ShouldNotBeNull().Phase.ShouldBe("done", done.Error);
        done.Parity!.Equal.ShouldBeTrue(done.Parity.ToString());
        (await analytics.QueryTextAsync("SELECT count() FROM agentstack.spans FINAL WHERE position(input, 'secret of alice') > 0"))
            .ShouldBe("0", "alice's plain text came back with the switch");
        (await analytics.QueryTextAsync("SELECT count() FROM agentstack.spans FINAL WHERE input = '{\"erased\":true}'")).ShouldBe("2");
        (await analytics.QueryTextAsync("SELECT count() FROM agentstack.spans FINAL WHERE position(input, 'secret of bob') > 0")).ShouldBe("2");
    }

    /// <summary>
    /// A subject erased while the rebuild replays: its spans went into the new tables while its keys existed, and the
    /// erase endpoint overwrites only the current tables. The switch must not bring the plain text back.
    /// </summary>
    /// <remarks>
    /// A subject given as a number is its JSON text (docs/privacy.md): <c>42.0</c>, which ClickHouse reads back as 42, so
    /// the rebuild cannot take it from the engine's rendering of the row.
    /// </remarks>
    [Theory]
    [InlineData("\"alice\"", "alice")]
    [InlineData("42.0", "42.0")]
    [InlineData("1e3", "1e3")]
    public async Task then_a_subject_erased_while_the_log_is_replayed_stays_erased_after_the_switch(string alice, string subject)
    {
        await AppendSubjectsSpansAsync(alice);
        // The current tables as the live runner wrote them while the keys existed.
        await new SpansProjection(analytics).ApplyAsync(await store.ReadAllAsync(0, 100, Ct), Ct);
        var options = new ProjectionOptions { Linger = TimeSpan.Zero };
        using var rebuild = Rebuild(analytics, options);
        await rebuild.StartAsync(Ct);
        rebuild.TryStart().ShouldBeTrue();
        // Replayed, plain text included; it now waits for the live runner, which is not running.
        await WaitForAsync(() => rebuild.Current?.Phase is "switching" or "done" or "failed");

        await EraseAliceAsync(subject);

        using var runner = Runner(options);
        await runner.StartAsync(Ct);
        try
        {
            await WaitForAsync(() => rebuild.Current?.Phase is "done" or "failed");
            await AliceIsErasedAndBobIsNotAsync(rebuild.Current);
        }
        finally
        {
            await runner.StopAsync(CancellationToken.None);
            await rebuild.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>
    /// The same, with the erasure made after the rebuild's first look at the log's erasures and before its second,
    /// made while the live runner is held: the runner had written alice's spans in plain text before.
    /// </summary>
    [Fact]
    public async Task then_a_subject_erased_just_before_the_switch_stays_erased_after_it()
    {
        await AppendSubjectsSpansAsync();
        var options = new ProjectionOptions { Linger = TimeSpan.Zero };
        using var runner = Runner(options);
        await runner.StartAsync(Ct);
        var secondLook = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var erased = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var looks = 0;
        var engine = new BeforeStatements(analytics, async sql =>
        {
            if (sql.StartsWith("SELECT DISTINCT project FROM agentstack.spans_v", StringComparison.Ordinal) && ++looks == 2)
            {
                secondLook.SetResult();
                await erased.Task;
            }
        });
        try
        {
            using var rebuild = Rebuild(engine, options);
            await rebuild.StartAsync(Ct);
            rebuild.TryStart().ShouldBeTrue();
            await secondLook.Task.WaitAsync(TimeSpan.FromSeconds(60), Ct);
            (await analytics.QueryTextAsync("SELECT count() FROM agentstack.spans_v" + rebuild.Current!.Version +
                " FINAL WHERE position(input, 'secret of alice') > 0")).ShouldBe("2", "replayed while the keys existed");
            await EraseAliceAsync();
            erased.SetResult();

            await WaitForAsync(() => rebuild.Current?.Phase is "done" or "failed");
            await AliceIsErasedAndBobIsNotAsync(rebuild.Current);
            await rebuild.StopAsync(CancellationToken.None);
        }
        finally
        {
            erased.TrySetResult();
            await runner.StopAsync(CancellationToken.None);
        }
    }

    private static Task WaitForAsync(Func<bool> condition) => WaitForAsync(() => Task.FromResult(condition()));

    private static async Task WaitForAsync(Func<Task<bool>> condition)
    {
        for (var waited = TimeSpan.Zero; !await condition(); waited += TimeSpan.FromMilliseconds(50))
        {
            waited.ShouldBeLessThan(TimeSpan.FromSeconds(60), "the rebuild did not get there");
            await Task.Delay(50, Ct);
        }
    }

    /// <summary>The engine, but each query waits for <paramref name="before"/> first.</summary>
    private sealed class BeforeStatements(IAnalyticsStore engine, Func<string, Task> before) : IAnalyticsStore
    {
        public Task ExecuteAsync(string sql, IReadOnlyDictionary<string, object?>? parameters, CancellationToken cancellationToken) =>
            engine.ExecuteAsync(sql, parameters, cancellationToken);

        public Task InsertJsonEachRowAsync(string table, ReadOnlyMemory<byte> rows, CancellationToken cancellationToken) =>
            engine.InsertJsonEachRowAsync(table, rows, cancellationToken);

        public Task InsertRowBinaryAsync(string table, ReadOnlyMemory<byte> rows, CancellationToken cancellationToken) =>
            engine.InsertRowBinaryAsync(table, rows, cancellationToken);

        public async Task<byte[]> QueryAsync(string sql, IReadOnlyDictionary<string, object?>? parameters, string format,
            CancellationToken cancellationToken)
        {
            await before(sql);
            return await engine.QueryAsync(sql, parameters, format, cancellationToken);
        }
    }

    /// <summary>The engine, but every statement that starts with <paramref name="failing"/> fails (a timeout, say).</summary>
    private sealed class FailingStatements(IAnalyticsStore engine, string failing) : IAnalyticsStore
    {
        public int Failed { get; private set; }

        public Task ExecuteAsync(string sql, IReadOnlyDictionary<string, object?>? parameters, CancellationToken cancellationToken)
        {
            if (sql.StartsWith(failing, StringComparison.Ordinal))
            {
                Failed++;
                throw new AnalyticsException("Code: 159. DB::Exception: Timeout exceeded (TIMEOUT_EXCEEDED)", 159);
            }
            return engine.ExecuteAsync(sql, parameters, cancellationToken);
        }

        public Task InsertJsonEachRowAsync(string table, ReadOnlyMemory<byte> rows, CancellationToken cancellationToken) =>
            engine.InsertJsonEachRowAsync(table, rows, cancellationToken);

        public Task InsertRowBinaryAsync(string table, ReadOnlyMemory<byte> rows, CancellationToken cancellationToken) =>
            engine.InsertRowBinaryAsync(table, rows, cancellationToken);

        public Task<byte[]> QueryAsync(string sql, IReadOnlyDictionary<string, object?>? parameters, string format,
            CancellationToken cancellationToken) => engine.QueryAsync(sql, parameters, format, cancellationToken);
    }

    private sealed class MemoryCheckpoints : ICheckpointStore
    {
        private readonly ConcurrentDictionary<string, long> saved = new(StringComparer.Ordinal);

        public Task<IReadOnlyDictionary<string, long>> LoadAsync(IReadOnlyCollection<string> names, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyDictionary<string, long>>(names.ToDictionary(n => n, n => saved.GetValueOrDefault(n), StringComparer.Ordinal));

        public Task SaveAsync(IReadOnlyDictionary<string, long> checkpoints, CancellationToken cancellationToken)
        {
            foreach (var (name, position) in checkpoints)
                saved.AddOrUpdate(name, position, (_, old) => Math.Max(old, position));
            return Task.CompletedTask;
        }
    }
}
