namespace AgentStack.Anomalies.Detecting;

/// <summary>
/// The verdict on one observation. <see cref="Expected"/> is the baseline (the window's median) and
/// [<see cref="Low"/>, <see cref="High"/>] the band outside which a value is anomalous; <see cref="Score"/>
/// the robust z-score. <see cref="Opens"/> is true on the first anomalous point of an episode: an
/// anomaly is reported once per episode, not once per point (a new normal would otherwise repeat it).
/// </summary>
public readonly record struct Verdict(double Seen, double Expected, double Low, double High, double Score, bool Anomalous, bool Opens)
{
    public static Verdict WarmingUp(double seen) => new(seen, double.NaN, double.NaN, double.NaN, 0, false, false);

    public bool IsWarmingUp => double.IsNaN(Expected);
}

/// <summary>
/// A robust, adapting baseline of one series (issue 15, point 3): the median and MAD of a bounded sliding
/// window, plus an EWMA of level and spread. A point is anomalous when it lies above both the median and
/// the EWMA level by <see cref="BaselineOptions.Threshold"/> standard deviations (the larger of MAD × 1.4826
/// and the EWMA's mean absolute deviation × 1.2533): the EWMA reacts within a few points, the median within half
/// a window (50 points by default); requiring both lets a new normal stop alerting soon.
/// Only rises are anomalous: latency, cost, tokens and errors going down is not an incident.
/// Values are compared on a log scale (<c>ln(x + offset)</c>): latencies, costs and token counts are
/// skewed, and a doubling means the same at 10 ms as at 10 s.
/// </summary>
public sealed class RobustBaseline(BaselineOptions options, double offset)
{
    private readonly Queue<double> window = new();
    private readonly SortedWindow sorted = new();
    private double level;
    private double spread;
    private long count;
    private bool inEpisode;

    public Verdict Observe(double value)
    {
        var x = Math.Log(Math.Max(value, 0) + offset);
        var verdict = Verdict.WarmingUp(value);
        if (window.Count >= options.Warmup)
        {
            var median = sorted.Median();
            var mad = sorted.MedianDistanceTo(median);
            // The larger of the two spreads: a window that happens to be calm does not make a narrow band
            // alone, and after a change the EWMA's spread widens the band at once.
            var sigma = Math.Max(Math.Max(1.4826 * mad, 1.2533 * spread), options.MinSpread);
            var z = (x - median) / sigma;
            var ewmaZ = (x - level) / sigma;
            var anomalous = z >= options.Threshold && ewmaZ >= options.Threshold;
            var opens = anomalous && !inEpisode;
            // Hysteresis: an episode ends when the value is back within half the band, not at the first
            // point that dips under the threshold, so noise at the edge does not open a second one.
            inEpisode = anomalous || (inEpisode && Math.Min(z, ewmaZ) >= options.Threshold / 2);
            verdict = new Verdict(value, Back(median), Back(median - options.Threshold * sigma),
                Back(median + options.Threshold * sigma), Math.Round(z, 3), anomalous, opens);
        }

        window.Enqueue(x);
        sorted.Add(x);
        if (window.Count > options.Window)
            sorted.Remove(window.Dequeue());
        if (count++ == 0)
            level = x;
        else
        {
            spread = (1 - options.EwmaAlpha) * spread + options.EwmaAlpha * Math.Abs(x - level);
            level = (1 - options.EwmaAlpha) * level + options.EwmaAlpha * x;
        }
        return verdict;
    }

    private double Back(double logValue) => Math.Max(0, Math.Exp(logValue) - offset);
}

/// <summary>
/// A sliding window's values kept in order, so its median is read in place and the median of the distances to it
/// walks half the window, with nothing copied or reordered: copying the window and selecting twice on every
/// observation was most of the anomaly engine's time (BENCHMARKS.md, "Thirtieth sitting"). Adding and removing a
/// value costs a binary search and a shift of the values after it. The results are those of the definitions,
/// bit for bit: the same values are compared and subtracted in the same way
/// (<c>when_baselines_take_medians_and_bands</c> holds it to a sort of each window).
/// </summary>
internal sealed class SortedWindow
{
    private readonly List<double> values = [];

    public int Count => values.Count;

    public void Add(double value)
    {
        var at = values.BinarySearch(value);
        values.Insert(at < 0 ? ~at : at, value);
    }

    /// <summary>Removes one value equal to <paramref name="value"/>; the window must hold it.</summary>
    public void Remove(double value)
    {
        var at = values.BinarySearch(value);
        if (at < 0)
            throw new InvalidOperationException("The window does not hold the value it was asked to remove.");
        values.RemoveAt(at);
    }

    /// <summary>The median: the middle value, or the mean of the two middle values of an even count.</summary>
    public double Median()
    {
        var n = values.Count;
        var upper = values[n / 2];
        return n % 2 == 1 ? upper : (values[n / 2 - 1] + upper) / 2;
    }

    /// <summary>
    /// The median of the values' distances to <paramref name="center"/> (with the median as center, the MAD).
    /// The distances of the values below the center grow leftwards and those of the others rightwards, so the two
    /// runs are merged from the center out until the middle of all of them is reached.
    /// </summary>
    public double MedianDistanceTo(double center)
    {
        var n = values.Count;
        var right = values.BinarySearch(center);
        if (right < 0)
            right = ~right;
        else
            while (right > 0 && values[right - 1] >= center)
                right--; // the first of several values equal to the center
        var left = right - 1;
        double previous = double.NaN, current = double.NaN;
        for (var taken = 0; taken <= n / 2; taken++)
        {
            previous = current;
            var fromLeft = left >= 0 ? Math.Abs(values[left] - center) : double.PositiveInfinity;
            var fromRight = right < n ? Math.Abs(values[right] - center) : double.PositiveInfinity;
            if (fromLeft <= fromRight)
            {
                current = fromLeft;
                left--;
            }
            else
            {
                current = fromRight;
                right++;
            }
        }
        return n % 2 == 1 ? current : (previous + current) / 2;
    }
}

/// <summary>
/// The error rate of one series: the errors among the last <see cref="BaselineOptions.ErrorWindow"/>
/// outcomes against a slow EWMA of the long-run rate (floored at <see cref="BaselineOptions.MinErrorRate"/>).
/// A window is anomalous when that many errors are improbable under the long-run rate (binomial tail
/// below <see cref="BaselineOptions.ErrorTailProbability"/>). The long-run rate follows a new normal, so a
/// sustained higher rate stops alerting.
/// </summary>
public sealed class ErrorRateBaseline(BaselineOptions options)
{
    private readonly Queue<bool> recent = new();
    private int recentErrors;
    private double rate;
    private long count;
    private bool inEpisode;

    public Verdict Observe(bool error)
    {
        recent.Enqueue(error);
        if (error)
            recentErrors++;
        if (recent.Count > options.ErrorWindow)
        {
            // The long-run rate learns from outcomes as they leave the recent window: the two never
            // overlap, so a burst does not raise the baseline it is judged against.
            var left = recent.Dequeue();
            if (left)
                recentErrors--;
            count++;
            var alpha = Math.Max(options.ErrorAlpha, 1.0 / count); // a plain mean until the EWMA's memory is filled
            rate = (1 - alpha) * rate + alpha * (left ? 1 : 0);
        }

        var verdict = Verdict.WarmingUp(recentErrors / (double)recent.Count);
        if (count >= options.Warmup && recent.Count == options.ErrorWindow)
        {
            var n = recent.Count;
            var p = Math.Clamp(rate, options.MinErrorRate, 0.99);
            var tail = BinomialTail(n, recentErrors, p);
            var sd = Math.Sqrt(n * p * (1 - p));
            var z = (recentErrors - n * p) / sd;
            var anomalous = tail < options.ErrorTailProbability;
            var opens = anomalous && !inEpisode;
            inEpisode = anomalous || (inEpisode && tail < Math.Sqrt(options.ErrorTailProbability));
            // The band: the most errors in a window that the long-run rate still explains.
            var high = MostExplained(n, p, options.ErrorTailProbability);
            verdict = new Verdict(recentErrors / (double)n, p, 0, high / (double)n, Math.Round(z, 3), anomalous, opens);
        }
        return verdict;
    }

    /// <summary>
    /// The largest k with P(K ≥ k) ≥ <paramref name="probability"/> for K ~ Binomial(n, p), 0 when there is none:
    /// the tail summed from the top down once, rather than <see cref="BinomialTail"/> for each k (quadratic in the
    /// window, and run on every outcome of every series).
    /// </summary>
    internal static int MostExplained(int n, double p, double probability)
    {
        var terms = n < 1024 ? stackalloc double[n + 1] : new double[n + 1];
        var term = Math.Pow(1 - p, n);
        for (var i = 0; i <= n; i++)
        {
            terms[i] = term;
            term = term * (n - i) / (i + 1) * p / (1 - p);
        }
        double tail = 0;
        for (var k = n; k > 0; k--)
        {
            tail += terms[k];
            if (Math.Min(1, tail) >= probability)
                return k;
        }
        return 0;
    }

    /// <summary>P(K ≥ k) for K ~ Binomial(n, p).</summary>
    internal static double BinomialTail(int n, int k, double p)
    {
        if (k <= 0)
            return 1;
        double sum = 0;
        var term = Math.Pow(1 - p, n); // P(K = 0)
        for (var i = 0; i <= n; i++)
        {
            if (i >= k)
                sum += term;
            term = term * (n - i) / (i + 1) * p / (1 - p);
        }
        return Math.Min(1, sum);
    }
}

/// <summary>Configuration section <c>AgentStack:Anomalies</c> (docs/anomalies-and-alerts.md).</summary>
public sealed class BaselineOptions
{
    public const string Section = "AgentStack:Anomalies";

    /// <summary>How many recent values the median and MAD are taken over.</summary>
    public int Window { get; set; } = 100;

    /// <summary>How many values a series needs before it is judged.</summary>
    public int Warmup { get; set; } = 30;

    /// <summary>How many standard deviations above the baseline a value must be.</summary>
    public double Threshold { get; set; } = 5;

    /// <summary>The EWMA's weight of each new value.</summary>
    public double EwmaAlpha { get; set; } = 0.1;

    /// <summary>The smallest spread on the log scale: changes under about 10 % × threshold never alert.</summary>
    public double MinSpread { get; set; } = 0.05;

    /// <summary>How many recent outcomes an error rate is taken over.</summary>
    public int ErrorWindow { get; set; } = 20;

    /// <summary>The long-run error rate's EWMA weight (slow: about 100 outcomes of memory).</summary>
    public double ErrorAlpha { get; set; } = 0.01;

    /// <summary>The long-run error rate assumed at least, so a series that never failed does not alert on one error.</summary>
    public double MinErrorRate { get; set; } = 0.02;

    /// <summary>How improbable a window's errors must be under the long-run rate.</summary>
    public double ErrorTailProbability { get; set; } = 1e-5;

    /// <summary>How many calls of one tool with the same arguments in one trace make a loop.</summary>
    public int LoopThreshold { get; set; } = 4;

    /// <summary>How many traces' running totals are kept at most (the oldest are forgotten first).</summary>
    public int MaxOpenTraces { get; set; } = 100_000;

    /// <summary>
    /// How many value series, and as many error-rate series, keep a baseline at most (about 2 KB each at the default
    /// window); the least recently observed is forgotten first, and starts again with a warm-up if it comes back.
    /// </summary>
    public int MaxSeries { get; set; } = 50_000;

    public void Validate()
    {
        if (Window < 5 || Warmup < 5 || Warmup > Window)
            throw new InvalidOperationException($"{Section}: Window and Warmup must be at least 5, Warmup at most Window.");
        if (Threshold <= 0 || EwmaAlpha is <= 0 or > 1 || ErrorAlpha is <= 0 or > 1 || MinSpread <= 0)
            throw new InvalidOperationException($"{Section}: Threshold, MinSpread must be positive; EwmaAlpha, ErrorAlpha in (0, 1].");
        if (ErrorWindow < 5 || MinErrorRate is <= 0 or >= 1 || ErrorTailProbability is <= 0 or >= 1)
            throw new InvalidOperationException($"{Section}: ErrorWindow at least 5; MinErrorRate, ErrorTailProbability in (0, 1).");
        if (LoopThreshold < 2 || MaxOpenTraces < 1 || MaxSeries < 1)
            throw new InvalidOperationException($"{Section}: LoopThreshold must be at least 2, MaxOpenTraces and MaxSeries positive.");
    }
}
