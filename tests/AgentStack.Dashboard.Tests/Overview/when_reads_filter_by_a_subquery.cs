using System.Text.RegularExpressions;
using AgentStack.Projections.Analytics;
using AgentStack.Queries.Findings;
using AgentStack.Queries.Overview;
using AgentStack.Queries.Sessions;
using AgentStack.Queries.Traces;

namespace AgentStack.Dashboard.Tests.Overview;

/// <summary>
/// On a ClickHouse cluster every table the reads name is Distributed, and the engine refuses a plain <c>IN</c> over a
/// Distributed subquery inside a query over a Distributed table (docs/distributed.md). No cluster runs here, so each
/// read runs with every filter on the real engine while its statements are recorded, and no statement may filter by
/// a subquery without <c>GLOBAL</c>.
/// </summary>
public sealed partial class when_reads_filter_by_a_subquery(OverviewEngine engine) : IClassFixture<OverviewEngine>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private static readonly DateTimeOffset Day = new(2026, 3, 10, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task then_every_such_filter_is_global()
    {
        var store = new RecordingStore(engine.Store);
        var traces = new TraceQueries(store);
        const string p = "cluster-filters";

        await traces.GetTracesAsync(p, new TraceFilter(Day, Day.AddDays(1), "ok", 10, null, SessionId: "s", UserId: "u", Finding: FindingKinds.Any), Ct);
        await traces.GetTracesAsync(p, new TraceFilter(null, null, null, 10, null, Finding: "prompt_injection"), Ct);
        await new OverviewQueries(store, traces).SearchTracesAsync(p,
            new TraceSearchFilter(Day, Day.AddDays(1), "error", "m", "tool", "text", 10, null, "s", "u", FindingKinds.Any), Ct);
        var findings = new FindingsQueries(store);
        var filter = new FindingsFilter(Day, Day.AddDays(1), "prompt_injection", "high", "agent", "t");
        await findings.ListAsync(p, filter, Ct);
        await findings.OverTimeAsync(p, new OverviewRange(Day, Day.AddDays(1), "hour"), filter, Ct);
        var sessions = new SessionQueries(store, traces);
        await sessions.GetSessionsAsync(p, Day, Day.AddDays(1), "u", 10, Ct);
        await sessions.GetSessionAsync(p, "s", Ct);

        store.Statements.Count.ShouldBeGreaterThan(6);
        store.Statements.Where(s => PlainIn().IsMatch(s)).ShouldBeEmpty();
    }

    /// <summary><c>IN (SELECT …</c> or <c>NOT IN (SELECT …</c> not preceded by <c>GLOBAL</c>.</summary>
    [GeneratedRegex(@"(?<!\bGLOBAL\s+)(?<!\bGLOBAL\s+NOT\s+)\b(?:NOT\s+)?IN\s*\(\s*SELECT\b", RegexOptions.IgnoreCase)]
    private static partial Regex PlainIn();

    /// <summary>The real engine, with each statement's text kept on its way to it.</summary>
    private sealed class RecordingStore(IAnalyticsStore engine) : IAnalyticsStore
    {
        public List<string> Statements { get; } = [];

        public Task ExecuteAsync(string sql, IReadOnlyDictionary<string, object?>? parameters, CancellationToken cancellationToken)
        {
            Statements.Add(sql);
            return engine.ExecuteAsync(sql, parameters, cancellationToken);
        }

        public Task InsertJsonEachRowAsync(string table, ReadOnlyMemory<byte> rows, CancellationToken cancellationToken) =>
            engine.InsertJsonEachRowAsync(table, rows, cancellationToken);

        public Task InsertRowBinaryAsync(string table, ReadOnlyMemory<byte> rows, CancellationToken cancellationToken) =>
            engine.InsertRowBinaryAsync(table, rows, cancellationToken);

        public Task<byte[]> QueryAsync(string sql, IReadOnlyDictionary<string, object?>? parameters, string format, CancellationToken cancellationToken)
        {
            Statements.Add(sql);
            return engine.QueryAsync(sql, parameters, format, cancellationToken);
        }
    }
}
