using AgentStack.Otlp.Pricing;

namespace AgentStack.Otlp.Tests.Pricing;

public sealed class when_a_cost_is_computed
{
    private static readonly DateTimeOffset June2025 = new(2025, 6, 15, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void then_the_longest_model_prefix_and_the_price_valid_at_the_span_start_are_used()
    {
        var table = PriceTable.Shipped();
        table.Price("p", "gpt-4o-mini-2024-07-18", 1000, 100, June2025)!.Entry.Model.ShouldBe("gpt-4o-mini");
        table.Price("p", "openai/gpt-4o", 1, 1, June2025)!.Entry.Key.ShouldBe("gpt-4o@2024-08-06");
        table.Price("p", "gpt-4o", 1_000_000, 0, new DateTimeOffset(2024, 6, 1, 0, 0, 0, TimeSpan.Zero))!.CostUsd.ShouldBe(5m);
        table.Price("p", "o3", 1_000_000, 0, new DateTimeOffset(2025, 5, 1, 0, 0, 0, TimeSpan.Zero))!.CostUsd.ShouldBe(10m);
        table.Price("p", "o3", 1_000_000, 0, June2025)!.CostUsd.ShouldBe(2m);
        table.Price("p", "gpt-4oops", 1, 1, June2025).ShouldBeNull();
        table.Price("p", "gpt-4o", null, null, June2025).ShouldBeNull();
        table.Price("p", "gpt-4o", 1, 1, new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero)).ShouldBeNull();
    }

    [Fact]
    public void then_a_user_file_extends_and_overrides_globally_and_per_project()
    {
        var file = Path.Combine(Path.GetTempPath(), $"prices-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, """
            {
              "version": "acme-7",
              "models": [
                { "model": "gpt-4o", "validFrom": "2024-08-06", "inputUsdPerToken": 0.000002, "outputUsdPerToken": 0.000008 },
                { "model": "acme-llm", "validFrom": "2025-01-01", "inputUsdPerToken": 0.000001, "outputUsdPerToken": 0.000001 }
              ],
              "projects": { "team-b": { "models": [ { "model": "gpt-4o", "validFrom": "2024-01-01", "inputUsdPerToken": 0, "outputUsdPerToken": 0 } ] } }
            }
            """);
        try
        {
            var table = PriceTable.Load(file);
            table.Version.ShouldBe("agentstack-2025-11-01+acme-7");
            table.Price("default", "gpt-4o", 1_000_000, 1_000_000, June2025)!.CostUsd.ShouldBe(10m);
            table.Price("default", "acme-llm-v2", 1_000_000, 0, June2025)!.CostUsd.ShouldBe(1m);
            table.Price("team-b", "gpt-4o", 1_000_000, 1_000_000, June2025)!.CostUsd.ShouldBe(0m);
            table.Price("team-b", "gpt-4o-mini", 1_000_000, 0, June2025)!.CostUsd.ShouldBe(0.15m);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
