using AgentStack.Access;
using AgentStack.Erasure.Keys;
using AgentStack.Events;
using AgentStack.EventStore.Sqlite;
using AgentStack.Projections.Analytics;
using AgentStack.Projections.Retention;
using AgentStack.Queries.Retention;
using Microsoft.Extensions.Logging.Abstractions;
using static AgentStack.Analytics.Tests.ChDbTestEngine;

namespace AgentStack.Analytics.Tests.Retention;

/// <summary>
/// Issue 17.3, docs/retention.md: a run destroys the payload keys before the ClickHouse step, so when ClickHouse
/// fails the keys are gone all the same; the run must still record them (no later run finds them again), and one
/// project's failure must not keep the projects after it from their run. The real SQLite log and key store, the real
/// chDB engine behind a switch that makes it fail.
/// </summary>
public sealed class when_retention_meets_an_analytics_outage(ChDbDatabase db) : IClassFixture<ChDbDatabase>, IAsyncLifetime
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "agentstack-retention-outage", Guid.NewGuid().ToString("N"));
    private SqliteEventStore events = null!;

    /// <summary>The real engine; while <see cref="Down"/> every call fails as an unreachable ClickHouse would.</summary>
    private sealed class SwitchedAnalytics(IAnalyticsStore inner) : IAnalyticsStore
    {
        public bool Down { get; set; }

        private void ThrowIfDown()
        {
            if (Down)
                throw new AnalyticsException("ClickHouse is down (test switch)");
        }

        public Task ExecuteAsync(string sql, IReadOnlyDictionary<string, object?>? parameters, CancellationToken cancellationToken)
        {
            ThrowIfDown();
            return inner.ExecuteAsync(sql, parameters, cancellationToken);
        }

        public Task InsertJsonEachRowAsync(string table, ReadOnlyMemory<byte> rows, CancellationToken cancellationToken)
        {
            ThrowIfDown();
            return inner.InsertJsonEachRowAsync(table, rows, cancellationToken);
        }

        public Task InsertRowBinaryAsync(string table, ReadOnlyMemory<byte> rows, CancellationToken cancellationToken)
        {
            ThrowIfDown();
            return inner.InsertRowBinaryAsync(table, rows, cancellationToken);
        }

        public Task<byte[]> QueryAsync(string sql, IReadOnlyDictionary<string, object?>? parameters, string format, CancellationToken cancellationToken)
        {
            ThrowIfDown();
            return inner.QueryAsync(sql, parameters, format, cancellationToken);
        }
    }

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(directory);
        await AnalyticsSchema.ApplyAsync(db.Store, Ct);
        events = new SqliteEventStore(new SqliteEventStoreOptions(Path.Combine(directory, "events.db")), TimeProvider.System);
    }

    public async ValueTask DisposeAsync()
    {
        await events.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task then_the_destroyed_keys_are_recorded_and_the_projects_after_it_still_run()
    {
        var access = new SqliteAccessStore(Path.Combine(directory, "access.db"), TimeProvider.System);
        await access.InitializeAsync(Ct);
        var keyring = new SubjectKeyring(new SqliteSubjectKeyStore(Path.Combine(directory, "keys.db"), KeyWrapping.None), TimeSpan.FromSeconds(30));
        var analytics = new SwitchedAnalytics(db.Store);
        var run = new RetentionRun(access, new RetentionPolicies(events, TimeProvider.System), keyring, events, analytics,
            Microsoft.Extensions.Options.Options.Create(new AnalyticsOptions()), TimeProvider.System, NullLogger<RetentionRun>.Instance);

        // Projects are run in the order of their ids: "a-…" fails first, "b-…" comes after it.
        var suffix = Guid.NewGuid().ToString("N")[..8];
        string[] projects = [$"a-{suffix}", $"b-{suffix}"];
        var old = int.Parse(DateTime.UtcNow.AddDays(-40).ToString("yyyyMMdd", System.Globalization.CultureInfo.InvariantCulture),
            System.Globalization.CultureInfo.InvariantCulture);
        var keys = new Dictionary<string, string[]>();
        foreach (var project in projects)
        {
            await access.EnsureProjectAsync(project, Ct);
            await events.AppendAsync(AccessStream.Name(project), StreamAppend.Any,
                [EventTypes.Serialize(new RetentionPolicySet(project, 30, "key_test", DateTimeOffset.UtcNow))], Ct);
            keys[project] = [keyring.ForSealing(project, null, old).KeyId, keyring.ForSealing(project, "user-1", old).KeyId];
        }

        analytics.Down = true;
        await run.ApplyAllAsync(Ct);

        foreach (var project in projects)
        {
            var recorded = await RunsAsync(project);
            recorded.ShouldHaveSingleItem($"project {project}").KeyIds.Order().ShouldBe(keys[project].Order());
            recorded[0].SpansExpired.ShouldBe(0);
            foreach (var keyId in keys[project])
                keyring.ForOpening(keyId).ShouldBeNull();
        }

        // Back up: the keys were recorded once and are not found again; nothing is left to record.
        analytics.Down = false;
        await run.ApplyAllAsync(Ct);
        foreach (var project in projects)
            (await RunsAsync(project)).ShouldHaveSingleItem();
    }

    private async Task<List<RetentionApplied>> RunsAsync(string project)
    {
        var runs = new List<RetentionApplied>();
        await foreach (var stored in events.ReadStreamAsync(RetentionStream.Name(project), 1, Ct))
            runs.Add((RetentionApplied)EventTypes.Deserialize(stored.Type, stored.Data)!);
        return runs;
    }
}
