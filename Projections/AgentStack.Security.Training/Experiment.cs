using System.Globalization;
using System.Text;
using AgentStack.Security.Injection;
using Microsoft.ML;

namespace AgentStack.Security.Training;

/// <summary>
/// Out-of-fold scores on train.jsonl (never test.jsonl): each row is scored by a classifier fitted on the
/// other folds (group-aware, <see cref="NearDuplicates"/>), next to the rules' score, and written as TSV, so featurisation, rules and thresholds can
/// be compared on data the model did not see, without touching the test set.
/// </summary>
public static class Experiment
{
    public static int Run(string dataDir, string outFile, string config, int folds, string features, float l2)
    {
        var rows = Dataset.Read(Path.Combine(dataDir, "train.jsonl"));
        var rules = new InjectionDetector(null);
        var ml = new MLContext(seed: 0);
        var oof = new double[rows.Count];
        var normalized = rows.Select(r => InjectionClassifier.Input(TextNormalizer.Normalize(r.Text).Text, features)).ToList();
        var fold = NearDuplicates.Folds(normalized, rows.Select(r => r.Label == 1).ToList(), folds);
        for (var k = 0; k < folds; k++)
        {
            var fit = Enumerable.Range(0, rows.Count).Where(i => fold[i] != k)
                .Select(i => (normalized[i], rows[i].Label == 1));
            var model = Trainer.Fit(ml, fit, config, l2);
            var engine = ml.Model.CreatePredictionEngine<ClassifierInput, ClassifierOutput>(model);
            foreach (var i in Enumerable.Range(0, rows.Count).Where(i => fold[i] == k))
                oof[i] = InjectionClassifier.Reads(normalized[i]) ? engine.Predict(new ClassifierInput { Text = normalized[i] }).Probability : 0;
            Console.WriteLine($"fold {k} done");
        }
        var sb = new StringBuilder("label\tsource\tcategory\tlang\tclassifier\trules\trule\ttext\n");
        for (var i = 0; i < rows.Count; i++)
        {
            var verdict = rules.Detect(rows[i].Text);
            var top = verdict.Findings.MaxBy(f => f.Score);
            sb.Append(CultureInfo.InvariantCulture, $"{rows[i].Label}\t{rows[i].Source}\t{rows[i].Category}\t{rows[i].Lang}\t{oof[i]:0.00000}\t{verdict.Score:0.000}\t{top?.Rule ?? "-"}\t{Flat(rows[i].Text)}\n");
        }
        File.WriteAllText(outFile, sb.ToString());
        return 0;
    }

    private static string Flat(string text) => text.Replace('\t', ' ').Replace('\n', ' ').Replace('\r', ' ')[..Math.Min(300, text.Length)];
}
