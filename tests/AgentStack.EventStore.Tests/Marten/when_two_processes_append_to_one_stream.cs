using AgentStack.Events;

namespace AgentStack.EventStore.Tests.Marten;

/// <summary>Two store instances, each with its own connections and writer loop: two processes' worth.</summary>
public sealed class when_two_processes_append_to_one_stream(PostgresSchema<when_two_processes_append_to_one_stream> schema)
    : IClassFixture<PostgresSchema<when_two_processes_append_to_one_stream>>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task then_one_wins_each_race_and_the_other_gets_wrong_expected_version()
    {
        await using var first = schema.OpenStore();
        await using var second = schema.OpenStore();
        var stream = TestEvents.NewStream("contended");
        await first.AppendAsync(stream, StreamAppend.NoStream, TestEvents.Numbered(1), Ct);

        for (long version = 1; version <= 20; version++)
        {
            var expected = version;
            var attempts = await Task.WhenAll(new[] { first, second }.Select(async (store, i) =>
            {
                try
                {
                    await store.AppendAsync(stream, expected, TestEvents.Numbered(1, $"store-{i}"), Ct);
                    return (Exception?)null;
                }
                catch (WrongExpectedVersionException e)
                {
                    return e;
                }
            }));

            attempts.Count(e => e is null).ShouldBe(1);
            var loser = attempts.Single(e => e is not null).ShouldBeOfType<WrongExpectedVersionException>();
            loser.Expected.ShouldBe(expected);
            loser.Actual.ShouldBe(expected + 1);
        }

        var events = await second.ReadStream(stream);
        events.Select(e => e.Version).ShouldBe(Enumerable.Range(1, 21).Select(v => (long)v));
        EventHash.Verify(events).ShouldBeNull();
    }

    [Fact]
    public async Task then_appends_with_any_from_both_interleave_into_one_valid_chain()
    {
        await using var first = schema.OpenStore();
        await using var second = schema.OpenStore();
        var stream = TestEvents.NewStream("shared");
        var before = await first.GetLastPositionAsync(Ct);

        await Task.WhenAll(new[] { first, second }.SelectMany((store, s) => Enumerable.Range(0, 10).Select(t => Task.Run(async () =>
        {
            for (var n = 0; n < 10; n++)
                await store.AppendAsync(stream, StreamAppend.Any, [TestEvents.Json("test.any.v1", $$"""{"s":{{s}},"t":{{t}},"n":{{n}}}""")], Ct);
        }, Ct))));

        var events = await first.ReadStream(stream);
        events.Select(e => e.Version).ShouldBe(Enumerable.Range(1, 200).Select(v => (long)v));
        events.Select(e => e.Text()).Distinct().Count().ShouldBe(200);
        EventHash.Verify(events).ShouldBeNull();
        (await second.ReadAllAsync(before, 1000, Ct)).Select(e => e.Position)
            .ShouldBe(Enumerable.Range(1, 200).Select(p => before + p));
    }
}
