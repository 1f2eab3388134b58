using System.Text;
using AgentStack.Erasure.Keys;
using AgentStack.Erasure.Sealing;
using AgentStack.Events;
using AgentStack.Projections.Analytics;

namespace AgentStack.Projections.Spans.Rebuilding;

/// <summary>
/// Subjects erased while a rebuild replayed (docs/privacy.md, "Erasure and rebuilds"). A rebuild reads each event
/// once: a subject erased after its spans were read is in the new tables in plain text, and the erase endpoint
/// overwrote only the current ones. So before the switch the rebuild overwrites, in its new tables, the rows of every
/// subject that the log records as erased (<c>subject.erased.v1</c> in <c>subjects-{project}</c>, which holds the
/// subject's hash; the rows hold the subject, whose hash this computes with the project's secret).
/// </summary>
/// <remarks>
/// The first pass runs before the live runner is held, over every erasure in the log; the second runs while it is
/// held, over the erasures recorded since the first read (and those within a key cache lifetime of it, whose keys
/// another process may still have used), so holding the runner costs no scan when nobody erased anything meanwhile.
/// An erasure recorded after the second read sits past the position the held runner stopped at, so its endpoint
/// waits for the runner, which resumes after the switch: it then overwrites the current tables, the new ones by then.
/// </remarks>
public sealed class RebuildErasures(IEventStore store, SubjectKeyring keyring, TimeProvider clock)
{
    private long readThrough;
    private DateTimeOffset readAt = DateTimeOffset.MinValue;

    /// <summary>The JSON types of a row's three subject attributes, to find those that are doubles.</summary>
    private static readonly string DoubleTypes = string.Join(", ",
        new[] { Subjects.SubjectAttribute, Subjects.UserId, Subjects.SessionId }.Select(key => $"JSONType(ifNull(attributes, ''), '{key}')"));

    /// <summary>Overwrites the rows of subjects erased since the last pass (every erasure on the first); returns how many spans.</summary>
    public async Task<int> OverwriteAsync(IAnalyticsStore analytics, SpansTables tables, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(analytics);
        ArgumentNullException.ThrowIfNull(tables);
        var since = readAt == DateTimeOffset.MinValue ? DateTimeOffset.MinValue : readAt - keyring.CacheLifetime;
        var after = readThrough;
        var now = clock.GetUtcNow();
        // Whatever is appended from here on has a later position, so the next pass finds it by position alone.
        var through = await store.GetLastPositionAsync(cancellationToken);
        var overwritten = 0;
        var projects = ErasedAnalyticsRows.Lines(await analytics.QueryAsync($"SELECT DISTINCT project FROM {tables.Spans}", null,
            "TabSeparated", cancellationToken)).Select(ErasedAnalyticsRows.Unescape);
        foreach (var project in projects)
        {
            var erased = new HashSet<string>(StringComparer.Ordinal);
            await foreach (var e in store.ReadStreamAsync(SubjectStream.Name(project), 1, cancellationToken))
            {
                if (e.Type == EventTypes.SubjectErased && EventTypes.Deserialize(e.Type, e.Data) is SubjectErased erasure
                    && (e.Position > after || erasure.ErasedAt >= since))
                    erased.Add(erasure.SubjectHash);
            }
            if (erased.Count == 0)
                continue;
            var parameters = new Dictionary<string, object?> { ["project"] = project };
            var subjects = ErasedAnalyticsRows.Lines(await analytics.QueryAsync($$"""
                SELECT DISTINCT subject FROM (SELECT {{ErasedAnalyticsRows.SubjectOfRow}} AS subject FROM {{tables.Spans}}
                WHERE project = {project:String}) WHERE subject != ''
                """, parameters, "TabSeparated", cancellationToken))
                .Select(ErasedAnalyticsRows.Unescape).ToHashSet(StringComparer.Ordinal);
            // A number's subject is its JSON text (docs/privacy.md), which ClickHouse renders anew for a double (42.0 as 42,
            // 1e3 as 1000): those rows' subjects are read from their attributes as sealing reads them.
            var withDoubles = ErasedAnalyticsRows.Lines(await analytics.QueryAsync($$"""
                SELECT DISTINCT ifNull(attributes, '') FROM {{tables.Spans}}
                WHERE project = {project:String} AND 'Double' IN ({{DoubleTypes}})
                """, parameters, "TabSeparated", cancellationToken)).Select(ErasedAnalyticsRows.Unescape);
            foreach (var attributes in withDoubles)
            {
                if (Subjects.Of(Encoding.UTF8.GetBytes(attributes)) is { } subject)
                    subjects.Add(subject);
            }
            foreach (var subject in subjects)
            {
                if (erased.Contains(keyring.SubjectHash(project, subject)))
                    overwritten += await ErasedAnalyticsRows.OverwriteAsync(analytics, tables, null, project, subject, cancellationToken);
            }
        }
        readThrough = through;
        readAt = now;
        return overwritten;
    }
}
