using System.Collections.Concurrent;
using AgentStack.EventStore.Marten;
using AgentStack.Events;

namespace AgentStack.EventStore.Tests.Marten;

/// <summary>
/// A group is inserted with one statement, and PostgreSQL refuses a message over 1 GB: calls queued behind one commit
/// (sixty-odd 16 MB requests) made such a statement, and every call in the group answered 503. Groups now stop taking
/// calls at <see cref="MartenEventStoreOptions.MaxBatchBytes"/>; the limit here is small so that the test writes little.
/// </summary>
public sealed class when_a_group_reaches_its_byte_limit(PostgresSchema<when_a_group_reaches_its_byte_limit> schema)
    : IClassFixture<PostgresSchema<when_a_group_reaches_its_byte_limit>>
{
    private const int Limit = 10_000;
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task then_each_group_holds_at_most_the_limit_and_a_larger_call_goes_alone()
    {
        await using var store = new MartenEventStore(
            new MartenEventStoreOptions(PostgresSchema<when_a_group_reaches_its_byte_limit>.ConnectionString, schema.Name)
            {
                MaxBatchBytes = Limit,
            }, TimeProvider.System);
        var groups = new ConcurrentQueue<IReadOnlyList<StoredEvent>>();
        store.OnCommitted(groups.Enqueue);

        // Queued together: small calls around one call three times the limit.
        var calls = Enumerable.Range(0, 200)
            .Select(i => store.AppendAsync(TestEvents.NewStream($"small-{i}"), StreamAppend.NoStream, [Padded(1_000)], Ct))
            .Append(store.AppendAsync(TestEvents.NewStream("large"), StreamAppend.NoStream, [Padded(3 * Limit)], Ct))
            .Concat(Enumerable.Range(0, 50)
                .Select(i => store.AppendAsync(TestEvents.NewStream($"after-{i}"), StreamAppend.NoStream, [Padded(1_000)], Ct)))
            .ToArray();
        await Task.WhenAll(calls);

        groups.Sum(group => group.Count).ShouldBe(251);
        foreach (var group in groups)
        {
            if (group.Any(e => e.Stream.StartsWith("large-", StringComparison.Ordinal)))
                group.Count.ShouldBe(1, "the call over the limit is committed alone");
            else
                group.Sum(e => e.Data.Length).ShouldBeLessThanOrEqualTo(Limit);
        }
        var stored = await store.ReadAllAsync(0, 1_000, Ct);
        stored.Select(e => e.Position).ShouldBe(Enumerable.Range(1, 251).Select(p => (long)p));
        stored.Single(e => e.Stream.StartsWith("large-", StringComparison.Ordinal)).Data.Length.ShouldBe(3 * Limit);
    }

    private static EventData Padded(int bytes) =>
        TestEvents.Json("test.padded.v1", $$"""{"pad":"{{new string('x', bytes - 10)}}"}""");
}
