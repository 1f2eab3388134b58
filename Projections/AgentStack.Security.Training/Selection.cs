using System.Globalization;
using System.Text;
using AgentStack.Security.Injection;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace AgentStack.Security.Training;

/// <summary>
/// Model selection on train.jsonl only (never test.jsonl): out-of-fold scores on group-aware folds
/// (<see cref="NearDuplicates"/>) for each featurisation, regularisation and weighting, each combined with the
/// rules and thresholded at the false-positive target on train, as the train command does. Prints one table row
/// per variant (and per two-model average), and writes every variant's out-of-fold probabilities as TSV.
/// The featuriser of each fold is fitted once per featurisation on that fold's training rows and shared by the
/// trainers that differ only in regularisation or weights.
/// </summary>
public static class Selection
{
    /// <summary>Example weights a variant can train with (columns of <see cref="WeightedInput"/>).</summary>
    public static readonly IReadOnlyList<string> Weightings = ["W1", "WA2", "WX03"];

    public static int Run(string dataDir, string outDir, double targetFpr, string[] configs, float[] l2s, string[] weightings, bool extra, bool hashFolds = false, NearDuplicates.Rule? grouping = null)
    {
        var rows = Dataset.Read(Path.Combine(dataDir, "train.jsonl"));
        var extraRows = extra
            ? Dataset.Read(Path.Combine(dataDir, "extra", "promptshield_dedup.jsonl")).Where(r => r.Split is "train" or "val").ToList()
            : [];
        var all = rows.Concat(extraRows).ToList();
        var texts = all.Select(r => TextNormalizer.Normalize(r.Text).Text).ToList();
        var labels = all.Select(r => r.Label == 1).ToList();
        var folds = hashFolds
            ? texts.Select(t => Trainer.Fold(t)).ToArray()
            : NearDuplicates.Folds(texts, labels, Trainer.Folds, counted: i => i < rows.Count, grouping);
        Describe(rows, texts, folds, grouping);

        var ruleBlocks = new InjectionDetector(null) is var rules ? rows.Select(r => rules.Detect(r.Text).Block).ToArray() : [];
        Print("rules alone", new double[rows.Count], rows, ruleBlocks, targetFpr);
        Directory.CreateDirectory(outDir);
        var results = new List<(string Name, double[] Oof)>();
        var ml = new MLContext(seed: 0);
        foreach (var config in configs)
        {
            var oofs = new Dictionary<string, double[]>();
            for (var k = 0; k < Trainer.Folds; k++)
            {
                var fitRows = Enumerable.Range(0, all.Count).Where(i => folds[i] != k && (i < rows.Count || extra)).ToList();
                var heldRows = Enumerable.Range(0, rows.Count).Where(i => folds[i] == k).ToList();
                var fitData = ml.Data.LoadFromEnumerable(fitRows.Select(i => WeightedInput.Of(texts[i], labels[i], i >= rows.Count)));
                var featurizer = Trainer.Featurizer(ml, config).Fit(fitData);
                var fitFeatures = ml.Data.Cache(featurizer.Transform(fitData));
                var heldFeatures = ml.Data.Cache(featurizer.Transform(ml.Data.LoadFromEnumerable(heldRows.Select(i => WeightedInput.Of(texts[i], labels[i], false)))));
                foreach (var l2 in l2s)
                    foreach (var weighting in weightings)
                    {
                        if (!extra && weighting.StartsWith("WX", StringComparison.Ordinal))
                            continue;
                        var name = Name(config, l2, weighting, extra) + (hashFolds ? " hash-folds" : "");
                        var linear = Trainer.Linear(ml, l2, weighting).Fit(fitFeatures);
                        var scores = ml.Data.CreateEnumerable<ClassifierOutput>(linear.Transform(heldFeatures), reuseRowObject: false).ToList();
                        var oof = oofs.TryGetValue(name, out var o) ? o : oofs[name] = new double[rows.Count];
                        // As the detector: text too short for the classifier (InjectionClassifier.Reads) gets no score.
                        for (var j = 0; j < heldRows.Count; j++)
                            oof[heldRows[j]] = InjectionClassifier.Reads(texts[heldRows[j]]) ? scores[j].Probability : 0;
                    }
                Console.Error.WriteLine($"{config}: fold {k} done");
            }
            foreach (var (name, oof) in oofs)
            {
                results.Add((name, oof));
                Print(name, oof, rows, ruleBlocks, targetFpr);
                File.WriteAllLines(Path.Combine(outDir, $"oof_{name}.tsv"), oof.Select((p, i) => string.Create(CultureInfo.InvariantCulture,
                    $"{folds[i]}\t{p:0.000000}\t{(ruleBlocks[i] ? 1 : 0)}\t{rows[i].Label}\t{rows[i].Source}\t{Flat(rows[i].Text)}")));
            }
        }
        // Two-model averages: the mean probability of two variants of different featurisations.
        for (var a = 0; a < results.Count; a++)
            for (var b = a + 1; b < results.Count; b++)
                if (results[a].Name.Split(' ')[0] != results[b].Name.Split(' ')[0] && results[a].Name.Split(' ')[1..] is var restA && restA.SequenceEqual(results[b].Name.Split(' ')[1..]))
                    Print($"mean({results[a].Name}; {results[b].Name})", results[a].Oof.Zip(results[b].Oof, (x, y) => (x + y) / 2).ToArray(), rows, ruleBlocks, targetFpr);
        return 0;
    }

    private static string Flat(string text) => text.ReplaceLineEndings(" ").Replace('\t', ' ')[..Math.Min(300, text.Length)];

    private static string Name(string config, float l2, string weighting, bool extra) =>
        string.Create(CultureInfo.InvariantCulture, $"{config} l2={l2:0e0} {weighting}{(extra ? " +extra" : "")}");

    /// <summary>How many rows share a group with a row of another fold under the old folds (by hash of the text).</summary>
    private static void Describe(List<Sample> rows, List<string> texts, int[] folds, NearDuplicates.Rule? grouping)
    {
        var groups = NearDuplicates.Groups(texts.Take(rows.Count).ToList(), grouping);
        Console.WriteLine($"grouping {grouping ?? NearDuplicates.Default}");
        var sizes = groups.GroupBy(g => g).Select(g => g.Count()).OrderDescending().ToList();
        var hashFold = texts.Take(rows.Count).Select(t => Trainer.Fold(t)).ToArray();
        var leaking = Enumerable.Range(0, rows.Count).Count(i => Enumerable.Range(0, rows.Count).Any(j => groups[j] == groups[i] && hashFold[j] != hashFold[i]));
        Console.WriteLine($"train rows {rows.Count}: {sizes.Count} near-duplicate groups, {sizes.Count(s => s > 1)} with more than one row " +
            $"({sizes.Where(s => s > 1).Sum()} rows), largest {string.Join(", ", sizes.Take(5))}");
        Console.WriteLine($"old folds (hash of the text): {leaking} rows have a near-duplicate in another fold");
        for (var k = 0; k < Trainer.Folds; k++)
            Console.WriteLine($"group fold {k}: {Enumerable.Range(0, rows.Count).Count(i => folds[i] == k)} rows, " +
                $"{Enumerable.Range(0, rows.Count).Count(i => folds[i] == k && rows[i].Label == 1)} attacks");
        Console.WriteLine();
        Console.WriteLine("| variant | threshold | OOF recall | deepset | jackhhao | OOF FPR | NotInject FPR | recall at 1% / 2% FPR |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
    }

    private static void Print(string name, double[] oof, List<Sample> rows, bool[] ruleBlocks, double targetFpr)
    {
        var threshold = oof.All(p => p == 0) ? 1 : Trainer.Threshold(oof, rows.Select(r => r.Label == 1).ToArray(), ruleBlocks, targetFpr);
        bool Blocked(int i) => ruleBlocks[i] || oof[i] >= threshold;
        string Recall(Func<Sample, bool> where, double t) => R(Enumerable.Range(0, rows.Count).Where(i => rows[i].Label == 1 && where(rows[i])).ToList(), i => ruleBlocks[i] || oof[i] >= t);
        string Fpr(Func<Sample, bool> where) => R(Enumerable.Range(0, rows.Count).Where(i => rows[i].Label == 0 && where(rows[i])).ToList(), Blocked);
        var labels = rows.Select(r => r.Label == 1).ToArray();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {threshold:0.0000} | {Recall(_ => true, threshold)} | {Recall(r => r.Source.StartsWith("deepset", StringComparison.Ordinal), threshold)} | " +
            $"{Recall(r => r.Source.StartsWith("jackhhao", StringComparison.Ordinal), threshold)} | {Fpr(_ => true)} | {Fpr(r => r.Source.Contains("NotInject", StringComparison.Ordinal))} | " +
            $"{Recall(_ => true, Trainer.Threshold(oof, labels, ruleBlocks, 0.01))} / {Recall(_ => true, Trainer.Threshold(oof, labels, ruleBlocks, 0.02))} |"));
    }

    private static string R(List<int> rows, Func<int, bool> hit) =>
        rows.Count == 0 ? "–" : (rows.Count(hit) / (double)rows.Count).ToString("0.000", CultureInfo.InvariantCulture);
}

/// <summary>A training row with the example weights a variant can use.</summary>
public sealed class WeightedInput
{
    public string Text { get; set; } = "";

    public bool Label { get; set; }

    /// <summary>Every row 1.</summary>
    public float W1 { get; set; }

    /// <summary>Attacks 2, benign 1.</summary>
    public float WA2 { get; set; }

    /// <summary>Rows of train.jsonl 1, rows of extra/promptshield 0.3.</summary>
    public float WX03 { get; set; }

    public static WeightedInput Of(string text, bool label, bool extra) => new()
    {
        Text = text, Label = label, W1 = 1, WA2 = label ? 2 : 1, WX03 = extra ? 0.3f : 1,
    };
}
