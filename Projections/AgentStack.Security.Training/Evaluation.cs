using System.Globalization;
using AgentStack.Security.Injection;

namespace AgentStack.Security.Training;

/// <summary>
/// Evaluates the whole injection detector (normalisation + rules + classifier) on test.jsonl: precision,
/// recall and false-positive rate overall, per category and per source; then the same on indirect
/// injection, every test text placed inside a retrieved document or a tool output (attacks and benign
/// texts alike, so the false-positive rate is measured in the same wrappers). Prints markdown tables.
/// </summary>
public static class Evaluation
{
    public static int Run(string dataDir, string? modelDir)
    {
        var detector = InjectionDetector.Load(modelDir);
        var test = Dataset.Read(Path.Combine(dataDir, "test.jsonl"));
        Console.WriteLine($"detector {InjectionDetector.Name} {detector.Version}, test rows {test.Count}\n");

        var direct = test.Select(r => (Row: r, Blocked: detector.Detect(r.Text).Block)).ToList();
        Table("Direct (user_input), test.jsonl", [
            ("all", direct),
            .. direct.GroupBy(d => "category " + d.Row.Category).OrderBy(g => g.Key).Select(g => (g.Key, g.ToList())),
            .. direct.GroupBy(d => "source " + d.Row.Source).OrderBy(g => g.Key).Select(g => (g.Key, g.ToList())),
            .. direct.GroupBy(d => "lang " + d.Row.Lang).OrderBy(g => g.Key).Select(g => (g.Key, g.ToList())),
        ]);

        var indirect = new List<(string Group, List<(Sample Row, bool Blocked)> Rows)>();
        foreach (var (name, role, wrap) in IndirectContexts.All)
        {
            var rows = test.Select((r, i) => (Row: r, Blocked: detector.Detect(wrap(r.Text, i), role).Block)).ToList();
            indirect.Add(($"{role}: {name}", rows));
        }
        indirect.Insert(0, ("all indirect", indirect.SelectMany(g => g.Rows).ToList()));
        Table("Indirect: test texts embedded in retrieved documents and tool outputs", indirect);

        return Clean(detector);
    }

    /// <summary>The 15 benign documents full of trigger words and quoted attacks (no test.jsonl text): how many are blocked.</summary>
    public static int Clean(InjectionDetector detector)
    {
        var clean = IndirectContexts.CleanDocuments().Select(d => detector.Detect(d.Text, d.Role)).ToList();
        Console.WriteLine($"Benign documents with trigger words and quoted attacks: {clean.Count(v => v.Block)} of {clean.Count} blocked\n");
        foreach (var (doc, verdict) in IndirectContexts.CleanDocuments().Zip(clean).Where(p => p.Second.Block))
            Console.WriteLine($"  blocked: {doc.Text[..Math.Min(80, doc.Text.Length)]}… ({verdict.Findings.MaxBy(f => f.Score)!.Reason})");
        return 0;
    }

    private static void Table(string title, IEnumerable<(string Group, List<(Sample Row, bool Blocked)> Rows)> groups)
    {
        Console.WriteLine($"### {title}\n");
        Console.WriteLine("| group | n | attacks | precision | recall | FPR |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (var (group, rows) in groups)
        {
            var tp = rows.Count(r => r.Row.Label == 1 && r.Blocked);
            var fn = rows.Count(r => r.Row.Label == 1 && !r.Blocked);
            var fp = rows.Count(r => r.Row.Label == 0 && r.Blocked);
            var tn = rows.Count(r => r.Row.Label == 0 && !r.Blocked);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {group} | {rows.Count} | {tp + fn} | {Ratio(tp, tp + fp)} | {Ratio(tp, tp + fn)} | {Ratio(fp, fp + tn)} |"));
        }
        Console.WriteLine();
    }

    private static string Ratio(int a, int b) => b == 0 ? "–" : (a / (double)b).ToString("0.000", CultureInfo.InvariantCulture);
}
