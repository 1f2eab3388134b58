using AgentStack.Events;

namespace AgentStack.EventStore.Tests.Marten;

/// <summary>
/// The reason positions are assigned under the log lock rather than by a sequence: a subscriber reading
/// "after N" while other processes commit must never pass over an event that becomes visible later
/// with a lower position.
/// </summary>
public sealed class when_appenders_race_a_subscriber(PostgresSchema<when_appenders_race_a_subscriber> schema)
    : IClassFixture<PostgresSchema<when_appenders_race_a_subscriber>>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task then_the_subscriber_sees_every_event_once_in_gapless_order()
    {
        const int storesCount = 3, tasksPerStore = 8, appendsPerTask = 25;
        const int total = 2 * storesCount * tasksPerStore * appendsPerTask;
        var appenders = Enumerable.Range(0, storesCount).Select(_ => schema.OpenStore()).ToArray();
        await using var reader = schema.OpenStore();
        try
        {
            var checkpoint = await reader.GetLastPositionAsync(Ct);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            stop.CancelAfter(TimeSpan.FromSeconds(60));
            var received = new List<StoredEvent>();
            // Small batches so the subscriber reads many times while commits land.
            var subscription = Task.Run(async () =>
            {
                await foreach (var batch in reader.SubscribeAsync(checkpoint, 7, stop.Token))
                {
                    received.AddRange(batch);
                    if (received.Count >= total) return;
                }
            }, Ct);

            await Task.WhenAll(appenders.SelectMany((store, s) => Enumerable.Range(0, tasksPerStore).Select(t => Task.Run(async () =>
            {
                for (var n = 0; n < appendsPerTask; n++)
                {
                    // Each task appends to its own stream and to a stream shared by all: multi-stream commits.
                    await store.AppendAsync(
                    [
                        new StreamAppend($"own-{s}-{t}-{checkpoint}", StreamAppend.Any,
                            [TestEvents.Json("test.race.v1", $$"""{"s":{{s}},"t":{{t}},"n":{{n}}}""")]),
                        new StreamAppend($"shared-{checkpoint}", StreamAppend.Any,
                            [TestEvents.Json("test.race.v1", $$"""{"shared":true,"s":{{s}},"t":{{t}},"n":{{n}}}""")]),
                    ], Ct);
                }
            }, Ct))));
            await subscription.WaitAsync(TimeSpan.FromSeconds(60), Ct);

            received.Count.ShouldBe(total);
            received.Select(e => e.Position).ShouldBe(Enumerable.Range(1, total).Select(p => checkpoint + p));
            received.Select(e => e.Text()).Distinct().Count().ShouldBe(total);
            EventHash.Verify(await reader.ReadStream($"shared-{checkpoint}")).ShouldBeNull();
        }
        finally
        {
            foreach (var store in appenders) await store.DisposeAsync();
        }
    }
}
