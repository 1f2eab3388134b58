using System.Globalization;
using AgentStack.Security.Injection;
using Microsoft.ML;

namespace AgentStack.Security.Training;

/// <summary>
/// A diagnostic on train.jsonl only (never test.jsonl): the attacks the detector blocks as user input out of fold but not
/// inside a document or tool output (<see cref="IndirectContexts"/>), at the thresholds the train command places. For each,
/// what the classifier read in the wrapper and the best score it gave, so a reading fault (an attack cut into pieces, a
/// wrapper's own text read with it) shows as a pattern rather than a figure.
/// </summary>
public static class Misses
{
    public static int Run(string dataDir, double targetFpr, string config, float l2)
    {
        var rows = Dataset.Read(Path.Combine(dataDir, "train.jsonl"));
        const string features = Trainer.DefaultFeatures;
        var samples = OutOfFold.Samples(rows, features);
        var ml = new MLContext(seed: 0);
        var scores = OutOfFold.Score(ml, rows, samples, config, l2, features);
        var (labels, ruleBlocks, wrappedRuleBlocks) = (scores.Labels, scores.RuleBlocks, scores.WrappedRuleBlocks);
        var userThreshold = scores.UserThreshold(targetFpr);
        var contexts = IndirectContexts.All;
        var roleThresholds = scores.RoleThresholds(targetFpr);
        var probabilities = scores.Models.Select(m => OutOfFold.Probability(ml, m, features)).ToArray();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"user input threshold {userThreshold:0.0000}; {string.Join(", ", roleThresholds.Select(r => $"{r.Key} {r.Value:0.0000}"))}"));
        for (var c = 0; c < contexts.Count; c++)
        {
            var threshold = roleThresholds[contexts[c].Role];
            var missed = Enumerable.Range(0, rows.Count)
                .Where(i => labels[i] && (ruleBlocks[i] || scores.Plain[i] >= userThreshold) && !(wrappedRuleBlocks[c][i] || scores.Wrapped[c][i] >= threshold))
                .ToList();
            var gained = Enumerable.Range(0, rows.Count)
                .Count(i => labels[i] && !(ruleBlocks[i] || scores.Plain[i] >= userThreshold) && (wrappedRuleBlocks[c][i] || scores.Wrapped[c][i] >= threshold));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"\n{contexts[c].Name} (threshold {threshold:0.0000}; this wrapper alone {scores.WrapperThreshold(c, targetFpr):0.0000}): {missed.Count} attacks blocked as user input but not here, {gained} the other way"));
            // The benign rows that set the threshold: the highest wrapped scores of benign rows the rules let through, and what was read.
            foreach (var i in Enumerable.Range(0, rows.Count).Where(i => !labels[i] && !wrappedRuleBlocks[c][i]).OrderByDescending(i => scores.Wrapped[c][i]).Take(BenignShown))
            {
                var probability = probabilities[scores.Folds[i]];
                var best = InjectionDetector.ClassifierInputs(contexts[c].Wrap(rows[i].Text, i), contexts[c].Role)
                    .Select(input => (input.Where, input.Text, P: probability(InjectionClassifier.Input(input.Text, features)))).MaxBy(x => x.P);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  benign [{i}] bare {scores.Plain[i]:0.000}, wrapped {best.P:0.000}{best.Where}: {Flat(best.Text, 120)}"));
            }
            foreach (var i in missed)
            {
                var probability = probabilities[scores.Folds[i]];
                var inputs = InjectionDetector.ClassifierInputs(contexts[c].Wrap(rows[i].Text, i), contexts[c].Role)
                    .Select(input => (input.Where, input.Text, P: probability(InjectionClassifier.Input(input.Text, features)))).ToList();
                var best = inputs.MaxBy(x => x.P);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  [{i}] {rows[i].Source} {rows[i].Lang} len {rows[i].Text.Length}, bare {scores.Plain[i]:0.000} (rules {(ruleBlocks[i] ? "block" : "-")}), wrapped best {best.P:0.000} of {inputs.Count} inputs{best.Where}: {Flat(best.Text, 90)}"));
                Console.WriteLine($"      text: {Flat(rows[i].Text, 160)}");
            }
        }
        return 0;
    }

    private const int BenignShown = 40;

    private static string Flat(string text, int length) => text.Replace('\n', '⏎').Replace('\r', ' ')[..Math.Min(length, text.Length)];
}
