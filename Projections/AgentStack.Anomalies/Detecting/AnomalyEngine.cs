using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using AgentStack.Events;
using AgentStack.Events.Anomalies;

namespace AgentStack.Anomalies.Detecting;

public static class AnomalyDimensions
{
    public const string Agent = "agent";
    public const string Model = "model";
    public const string Tool = "tool";
}

public static class AnomalyMetrics
{
    public const string Latency = "latency_ms";
    public const string Cost = "cost_usd";
    public const string Tokens = "tokens";
    public const string ErrorRate = "error_rate";
    public const string Loop = "loop";
}

public static class Severities
{
    public const string Low = "low";
    public const string Medium = "medium";
    public const string High = "high";
    public const string Critical = "critical";

    public static readonly IReadOnlyList<string> All = [Low, Medium, High, Critical];

    /// <summary>The rank of a severity (low 0 … critical 3); -1 for an unknown one.</summary>
    public static int Rank(string? severity) => severity is null ? -1 : All.ToList().IndexOf(severity);
}

/// <summary>
/// The anomaly engine (issue 15, point 3), pure: completed spans in log order in, anomalies out. Series are
/// keyed by (project, dimension, key, metric): the agent (root span name: its latency, and the trace's
/// cost, tokens and whether any span failed, taken when the root completes), the model (each span naming
/// one) and the tool (each span of kind tool). Same spans in the same order, same anomalies with the same
/// ids: the projection's state is a function of the log.
/// </summary>
public sealed class AnomalyEngine
{
    public const string DetectorName = "anomalies";
    public const string DetectorVersion = "1";

    private readonly BaselineOptions options;
    private readonly RecentlyUsed<(string Project, string Dimension, string Key, string Metric), RobustBaseline> values;
    private readonly RecentlyUsed<(string Project, string Dimension, string Key), ErrorRateBaseline> errors;
    private readonly Dictionary<(string Project, string TraceId), OpenTrace> traces = [];
    private readonly Queue<(string Project, string TraceId)> traceOrder = new();

    public AnomalyEngine(BaselineOptions options)
    {
        options.Validate();
        this.options = options;
        values = new(options.MaxSeries);
        errors = new(options.MaxSeries);
    }

    /// <summary>How many value series and error-rate series keep a baseline now: a diagnostic.</summary>
    public (int Values, int ErrorRates) Series => (values.Count, errors.Count);

    /// <summary>The anomalies one completed span reveals (none for a span that is not complete).</summary>
    public IReadOnlyList<AnomalyDetected> Observe(string project, SpanRecord span)
    {
        if (span.EndTime is not { } end)
            return [];
        var found = new List<AnomalyDetected>();
        var latency = (end - span.StartTime).TotalMilliseconds;
        var failed = string.Equals(span.Status, SpanStatuses.Error, StringComparison.Ordinal);
        long? tokens = span.InputTokens is null && span.OutputTokens is null ? null : (span.InputTokens ?? 0) + (span.OutputTokens ?? 0);
        var cost = span.CostUsd is { } c ? (double)c : (double?)null;

        if (span.Model is { Length: > 0 } model)
        {
            Value(found, project, AnomalyDimensions.Model, model, AnomalyMetrics.Latency, latency, span);
            if (tokens is { } t)
                Value(found, project, AnomalyDimensions.Model, model, AnomalyMetrics.Tokens, t, span);
            if (cost is { } usd)
                Value(found, project, AnomalyDimensions.Model, model, AnomalyMetrics.Cost, usd, span);
            ErrorRate(found, project, AnomalyDimensions.Model, model, failed, span);
        }

        var trace = Trace(project, span.TraceId);
        trace.Cost += cost ?? 0;
        trace.Tokens += tokens ?? 0;
        trace.Failed |= failed;

        if (string.Equals(span.Kind, SpanKinds.Tool, StringComparison.Ordinal))
        {
            Value(found, project, AnomalyDimensions.Tool, span.Name, AnomalyMetrics.Latency, latency, span);
            ErrorRate(found, project, AnomalyDimensions.Tool, span.Name, failed, span);
            var call = (span.Name, LoopDetector.ArgumentsHash(span.Input));
            var calls = trace.Calls[call] = trace.Calls.GetValueOrDefault(call) + 1;
            // Reported once, when the count reaches the threshold; later repeats are the same loop.
            if (calls == options.LoopThreshold)
                found.Add(Loop(project, span, call.Item2, calls));
        }

        if (span.ParentSpanId is null)
        {
            Value(found, project, AnomalyDimensions.Agent, span.Name, AnomalyMetrics.Latency, latency, span);
            if (trace.Tokens > 0)
                Value(found, project, AnomalyDimensions.Agent, span.Name, AnomalyMetrics.Tokens, trace.Tokens, span);
            if (trace.Cost > 0)
                Value(found, project, AnomalyDimensions.Agent, span.Name, AnomalyMetrics.Cost, trace.Cost, span);
            ErrorRate(found, project, AnomalyDimensions.Agent, span.Name, trace.Failed, span);
        }
        return found;
    }

    private void Value(List<AnomalyDetected> found, string project, string dimension, string key, string metric, double value, SpanRecord span)
    {
        var series = (project, dimension, key, metric);
        if (!values.TryGet(series, out var baseline))
            values.Set(series, baseline = new RobustBaseline(options, metric switch
            {
                AnomalyMetrics.Cost => 1e-6, // a millionth of a dollar
                _ => 1, // one millisecond, one token
            }));
        var verdict = baseline.Observe(value);
        if (verdict.Opens)
            found.Add(Anomaly(project, dimension, key, metric, verdict, span, Severity(verdict.Score / options.Threshold)));
    }

    private void ErrorRate(List<AnomalyDetected> found, string project, string dimension, string key, bool failed, SpanRecord span)
    {
        var series = (project, dimension, key);
        if (!errors.TryGet(series, out var baseline))
            errors.Set(series, baseline = new ErrorRateBaseline(options));
        var verdict = baseline.Observe(failed);
        if (verdict.Opens)
            found.Add(Anomaly(project, dimension, key, AnomalyMetrics.ErrorRate, verdict, span, Severity(verdict.Score / options.Threshold)));
    }

    private static string Severity(double timesThreshold) => timesThreshold switch
    {
        >= 4 => Severities.Critical,
        >= 2 => Severities.High,
        >= 1.5 => Severities.Medium,
        _ => Severities.Low,
    };

    private static AnomalyDetected Anomaly(string project, string dimension, string key, string metric, Verdict v, SpanRecord span, string severity)
    {
        var reason = string.Create(CultureInfo.InvariantCulture,
            $"{dimension} '{key}' {metric} {Format(metric, v.Seen)}; expected {Format(metric, v.Expected)} (up to {Format(metric, v.High)}), score {v.Score:0.0}");
        return new AnomalyDetected(Id(project, dimension, key, metric, span.TraceId, span.SpanId), project, dimension, key, metric,
            Round(v.Seen), Round(v.Expected), Round(v.Low), Round(v.High), v.Score, severity, span.TraceId, span.SpanId, reason,
            span.EndTime!.Value, DetectorName, DetectorVersion);
    }

    private AnomalyDetected Loop(string project, SpanRecord span, string argumentsHash, int calls) =>
        new(Id(project, AnomalyDimensions.Tool, span.Name, AnomalyMetrics.Loop, span.TraceId, argumentsHash), project,
            AnomalyDimensions.Tool, span.Name, AnomalyMetrics.Loop, calls, 1, 1, options.LoopThreshold - 1, calls, Severities.High,
            span.TraceId, span.SpanId,
            string.Create(CultureInfo.InvariantCulture,
                $"tool '{span.Name}' called {calls} times with the same arguments (sha256 {argumentsHash[..12]}) in trace {span.TraceId}"),
            span.EndTime!.Value, DetectorName, DetectorVersion);

    /// <summary>A stable id: the same anomaly found again (restart, rebuild) has the same id.</summary>
    internal static string Id(string project, string dimension, string key, string metric, string traceId, string spanOrArguments)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', DetectorVersion, project, dimension, key, metric, traceId, spanOrArguments)));
        return $"anomaly-{Convert.ToHexStringLower(hash.AsSpan(0, 12))}";
    }

    private static double Round(double value) => Math.Round(value, 6);

    private static string Format(string metric, double value) => metric switch
    {
        AnomalyMetrics.Latency => value.ToString("0.#", CultureInfo.InvariantCulture) + " ms",
        AnomalyMetrics.Cost => "$" + value.ToString("0.######", CultureInfo.InvariantCulture),
        AnomalyMetrics.ErrorRate => (value * 100).ToString("0.#", CultureInfo.InvariantCulture) + " %",
        _ => value.ToString("0.#", CultureInfo.InvariantCulture),
    };

    private OpenTrace Trace(string project, string traceId)
    {
        var key = (project, traceId);
        if (traces.TryGetValue(key, out var trace))
            return trace;
        // Bounded: the oldest traces' totals are forgotten first (a trace that never completes its root).
        while (traces.Count >= options.MaxOpenTraces && traceOrder.TryDequeue(out var oldest))
            traces.Remove(oldest);
        traceOrder.Enqueue(key);
        return traces[key] = new OpenTrace();
    }

    private sealed class OpenTrace
    {
        public double Cost;
        public long Tokens;
        public bool Failed;
        public readonly Dictionary<(string Tool, string ArgumentsHash), int> Calls = [];
    }
}
