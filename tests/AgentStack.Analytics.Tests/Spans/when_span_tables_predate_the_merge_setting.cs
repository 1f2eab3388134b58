using AgentStack.Projections.Spans;
using static AgentStack.Analytics.Tests.ChDbTestEngine;

namespace AgentStack.Analytics.Tests.Spans;

/// <summary>Tables created before the schema set their merge selector get it at start, as new ones have it.</summary>
public sealed class when_span_tables_predate_the_merge_setting(ChDbDatabase db) : IClassFixture<ChDbDatabase>
{
    private Task<string> TunedTablesAsync() => db.Store.QueryTextAsync(
        $"SELECT arraySort(groupArray(name)) FROM system.tables WHERE database = '{db.Name}' AND engine_full LIKE '%merge_selector_base = 16%'");

    [Fact]
    public async Task then_they_are_given_it_and_new_tables_have_it_already()
    {
        foreach (var statement in SpansSchema.CreateStatements(new SpansTables($"{db.Name}.spans", $"{db.Name}.traces")))
        {
            statement.ShouldContain(SpansSchema.MergeSetting);
            await db.Store.ExecuteAsync(statement.Replace("SETTINGS " + SpansSchema.MergeSetting, "", StringComparison.Ordinal));
        }
        (await TunedTablesAsync()).ShouldBe("[]");

        await SpansSchema.TuneMergesAsync(db.Store, null, Ct, db.Name);
        await SpansSchema.TuneMergesAsync(db.Store, null, Ct, db.Name);

        (await TunedTablesAsync()).ShouldBe("['spans','traces']");
    }
}
