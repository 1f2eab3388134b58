using System.Text.Json;
using System.Text.Json.Nodes;
using AgentStack.Queries.Traces;

namespace AgentStack.Queries.Comparing;

/// <summary>Two spans at the same step of two runs (either side missing when only one run has it).</summary>
public sealed record AlignedStep(int Index, SpanView? Left, SpanView? Right, IReadOnlyList<string> Differences);

/// <summary>Where two runs first part: the aligned step, the field (missing, input, output, status) and what it is.</summary>
public sealed record Divergence(int Index, string Field, string Label);

/// <summary>
/// Step alignment of two runs (issue 16), pure: the spans of each run in the order they started, aligned by
/// kind and name with a longest common subsequence, so a step added or dropped in one run shifts nothing after it.
/// </summary>
public static class RunAlignment
{
    /// <summary>Above this many cells the quadratic alignment gives way to a greedy one (same order, less optimal).</summary>
    public const long MaxCells = 4_000_000;

    public static IReadOnlyList<AlignedStep> Align(IReadOnlyList<SpanView> left, IReadOnlyList<SpanView> right)
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        var l = Ordered(left);
        var r = Ordered(right);
        var pairs = (long)l.Count * r.Count <= MaxCells ? Lcs(l, r) : Greedy(l, r);
        return pairs.Select((p, i) => new AlignedStep(i, p.Left, p.Right, Differences(p.Left, p.Right))).ToList();
    }

    /// <summary>
    /// The first divergence: the first step (in start order) missing on one side, or whose input, status, or output
    /// (of a span without children: a parent's output follows from its children's) differs; failing those, the
    /// first parent whose output differs. Null when the runs match step for step.
    /// </summary>
    public static Divergence? FirstDivergence(IReadOnlyList<AlignedStep> steps)
    {
        ArgumentNullException.ThrowIfNull(steps);
        var parents = new HashSet<string>(StringComparer.Ordinal);
        foreach (var step in steps)
        {
            foreach (var span in new[] { step.Left, step.Right })
            {
                if (span?.ParentSpanId is { } parent)
                    parents.Add((ReferenceEquals(span, step.Left) ? "l:" : "r:") + parent);
            }
        }
        bool IsParent(AlignedStep s) => s.Left is { } left && parents.Contains("l:" + left.SpanId)
            || s.Right is { } right && parents.Contains("r:" + right.SpanId);

        foreach (var step in steps)
        {
            if (step.Left is null || step.Right is null)
                return new Divergence(step.Index, "missing", step.Left is null ? "step only in the right run" : "step only in the left run");
            if (step.Differences.Contains("input"))
                return new Divergence(step.Index, "input", Label(step, "input"));
            if (step.Differences.Contains("status"))
                return new Divergence(step.Index, "status", "status");
            if (step.Differences.Contains("output") && !IsParent(step))
                return new Divergence(step.Index, "output", Label(step, "output"));
        }
        return steps.FirstOrDefault(s => s.Differences.Contains("output")) is { } first
            ? new Divergence(first.Index, "output", Label(first, "output"))
            : null;
    }

    private static string Label(AlignedStep step, string field)
    {
        var span = step.Left ?? step.Right!;
        return (span.Kind, field) switch
        {
            ("llm", "input") => "prompt",
            ("llm", "output") when (step.Left?.Output + step.Right?.Output).Contains("tool_call", StringComparison.Ordinal) => "model output (tool calls)",
            ("llm", "output") => "model output",
            ("tool", "input") => "tool call arguments",
            ("tool", "output") => "tool output",
            _ => field,
        };
    }

    private static List<SpanView> Ordered(IReadOnlyList<SpanView> spans) =>
        spans.OrderBy(s => s.StartTime, StringComparer.Ordinal).ThenBy(s => s.SpanId, StringComparer.Ordinal).ToList();

    private static string Key(SpanView s) => s.Kind + "\u0000" + s.Name;

    private static List<(SpanView? Left, SpanView? Right)> Lcs(List<SpanView> l, List<SpanView> r)
    {
        // lengths[i, j] = LCS of l[i..] and r[j..]; walking it forwards keeps both runs in start order.
        var lengths = new int[l.Count + 1, r.Count + 1];
        for (var i = l.Count - 1; i >= 0; i--)
        {
            for (var j = r.Count - 1; j >= 0; j--)
                lengths[i, j] = Key(l[i]) == Key(r[j]) ? lengths[i + 1, j + 1] + 1 : Math.Max(lengths[i + 1, j], lengths[i, j + 1]);
        }
        var pairs = new List<(SpanView?, SpanView?)>();
        int a = 0, b = 0;
        while (a < l.Count && b < r.Count)
        {
            if (Key(l[a]) == Key(r[b]))
                pairs.Add((l[a++], r[b++]));
            else if (lengths[a + 1, b] >= lengths[a, b + 1])
                pairs.Add((l[a++], null));
            else
                pairs.Add((null, r[b++]));
        }
        while (a < l.Count)
            pairs.Add((l[a++], null));
        while (b < r.Count)
            pairs.Add((null, r[b++]));
        return pairs;
    }

    private static List<(SpanView? Left, SpanView? Right)> Greedy(List<SpanView> l, List<SpanView> r)
    {
        var pairs = new List<(SpanView?, SpanView?)>();
        int a = 0, b = 0;
        while (a < l.Count || b < r.Count)
        {
            if (a < l.Count && b < r.Count && Key(l[a]) == Key(r[b]))
                pairs.Add((l[a++], r[b++]));
            else if (a < l.Count && (b >= r.Count || string.CompareOrdinal(l[a].StartTime, r[b].StartTime) <= 0))
                pairs.Add((l[a++], null));
            else
                pairs.Add((null, r[b++]));
        }
        return pairs;
    }

    private static IReadOnlyList<string> Differences(SpanView? left, SpanView? right)
    {
        if (left is null || right is null)
            return ["missing"];
        var differences = new List<string>(3);
        if (!SameJson(left.Input, right.Input))
            differences.Add("input");
        if (!SameJson(left.Output, right.Output))
            differences.Add("output");
        if ((left.Status ?? "ok") != (right.Status ?? "ok"))
            differences.Add("status");
        return differences;
    }

    /// <summary>
    /// JSON equality of two payloads as stored (property order ignored). Payloads are stored as sent, and JSON allows
    /// an object to repeat a key, so this compares documents rather than <see cref="JsonNode"/>s, which refuse them.
    /// </summary>
    public static bool SameJson(string? left, string? right)
    {
        if (left == right)
            return true;
        if (left is null || right is null)
            return false;
        try
        {
            using var l = JsonDocument.Parse(left);
            using var r = JsonDocument.Parse(right);
            return JsonElement.DeepEquals(l.RootElement, r.RootElement);
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
