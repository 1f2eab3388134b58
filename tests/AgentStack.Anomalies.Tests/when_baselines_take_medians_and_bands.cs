using AgentStack.Anomalies.Detecting;

namespace AgentStack.Anomalies.Tests;

/// <summary>The baselines' fast arithmetic (a window kept sorted, the tail summed once) gives what the definitions give.</summary>
public sealed class when_baselines_take_medians_and_bands
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 5)]
    [InlineData(4, 99)]
    [InlineData(5, 100)]
    [InlineData(6, 101)]
    public void then_the_sorted_window_gives_the_medians_a_sort_of_the_window_gives(int seed, int capacity)
    {
        var random = new SplitMix((ulong)seed);
        var window = new Queue<double>();
        var sorted = new SortedWindow();
        for (var step = 0; step < 3_000; step++)
        {
            // Ties are common in real series (rounded latencies, zero costs): a few distinct values in every other
            // stretch of 500, any value in the others.
            var value = step / 500 % 2 == 0 ? Math.Floor(random.NextDouble() * 5) : random.NextDouble() * 10 - 5;
            window.Enqueue(value);
            sorted.Add(value);
            if (window.Count > capacity)
                sorted.Remove(window.Dequeue());

            sorted.Count.ShouldBe(window.Count);
            var median = MedianOf(window);
            sorted.Median().ShouldBe(median);
            sorted.MedianDistanceTo(median).ShouldBe(MedianOf(window.Select(v => Math.Abs(v - median))));
            var center = Math.Floor(random.NextDouble() * 7) - 1; // on a value, between values, outside them all
            sorted.MedianDistanceTo(center).ShouldBe(MedianOf(window.Select(v => Math.Abs(v - center))));
        }
    }

    [Fact]
    public void then_removing_a_value_the_window_does_not_hold_fails()
    {
        var sorted = new SortedWindow();
        sorted.Add(1);
        Should.Throw<InvalidOperationException>(() => sorted.Remove(2));
    }

    /// <summary>The definition: the middle of a sorted copy, or the mean of its two middle values.</summary>
    private static double MedianOf(IEnumerable<double> values)
    {
        var s = values.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
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
