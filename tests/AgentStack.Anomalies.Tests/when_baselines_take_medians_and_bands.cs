using AgentStack.Anomalies.Detecting;

namespace AgentStack.Anomalies.Tests;

/// <summary>The baselines' fast arithmetic (selection, the tail summed once) gives what the definitions give.</summary>
public sealed class when_baselines_take_medians_and_bands
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 99)]
    [InlineData(4, 100)]
    [InlineData(5, 101)]
    public void then_selection_finds_the_value_a_sort_puts_there(int seed, int length)
    {
        var random = new SplitMix((ulong)seed);
        for (var round = 0; round < 200; round++)
        {
            // Ties are common in real series (rounded latencies, zero costs): draw from few distinct values half the time.
            var values = Enumerable.Range(0, length)
                .Select(_ => round % 2 == 0 ? Math.Floor(random.NextDouble() * 5) : random.NextDouble()).ToArray();
            var sorted = values.Order().ToArray();
            var k = (int)(random.NextDouble() * length);

            var work = (double[])values.Clone();
            RobustBaseline.Select(work, k).ShouldBe(sorted[k]);
            work.Take(k).ShouldAllBe(v => v <= sorted[k]);
            work.Order().ShouldBe(sorted);
        }
    }

    [Theory]
    [InlineData(20, 0.02, 0.001)]
    [InlineData(20, 0.3, 0.001)]
    [InlineData(50, 0.001, 0.0001)]
    [InlineData(100, 0.5, 0.01)]
    [InlineData(1, 0.2, 0.5)]
    public void then_the_band_is_the_most_errors_the_rate_explains(int n, double p, double probability)
    {
        var expected = n;
        while (expected > 0 && ErrorRateBaseline.BinomialTail(n, expected, p) < probability)
            expected--;

        ErrorRateBaseline.MostExplained(n, p, probability).ShouldBe(expected);
    }
}
