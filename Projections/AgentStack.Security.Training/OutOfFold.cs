using AgentStack.Security.Injection;
using Microsoft.ML;

namespace AgentStack.Security.Training;

/// <summary>
/// Out-of-fold classifier probabilities on train.jsonl: each row scored by a model fitted on the other folds. Folds are
/// group-aware (<see cref="NearDuplicates"/>): near-duplicate rows share a fold, so these scores resemble text the model
/// never saw. <see cref="Plain"/> is each row as it is; <see cref="Wrapped"/> is the same row inside each of
/// <see cref="IndirectContexts.All"/>: the highest probability over every text the detector's classifier reads there (the
/// whole, its pieces, comments), so thresholds placed on it hold in those wrappers. With them, whether the rules alone
/// block each row as it is (<see cref="RuleBlocks"/>) and in each wrapper (<see cref="WrappedRuleBlocks"/>).
/// </summary>
public sealed record OutOfFold(int[] Folds, ITransformer[] Models, bool[] Labels, double[] Plain, double[][] Wrapped,
    bool[] RuleBlocks, bool[][] WrappedRuleBlocks)
{
    /// <summary>What the classifier reads of each row (normalised), with its label.</summary>
    public static List<(string Text, bool Label)> Samples(IEnumerable<Sample> rows, string features) =>
        rows.Select(r => (Text: InjectionClassifier.Input(TextNormalizer.Normalize(r.Text).Text, features), Label: r.Label == 1)).ToList();

    /// <summary>The user-input threshold at <paramref name="targetFpr"/> (<see cref="Trainer.Threshold"/>).</summary>
    public double UserThreshold(double targetFpr) => Trainer.Threshold(Plain, Labels, RuleBlocks, targetFpr);

    /// <summary>
    /// Per role, the smallest threshold that keeps the false positives at or under the target in each of that role's
    /// wrappers: false positives only fall as the threshold rises, so the highest of its per-wrapper thresholds.
    /// </summary>
    public Dictionary<string, double> RoleThresholds(double targetFpr) =>
        Enumerable.Range(0, IndirectContexts.All.Count).GroupBy(c => IndirectContexts.All[c].Role)
            .ToDictionary(g => g.Key, g => g.Max(c => WrapperThreshold(c, targetFpr)));

    /// <summary>The threshold that one wrapper alone would need at the target.</summary>
    public double WrapperThreshold(int context, double targetFpr) =>
        Trainer.Threshold(Wrapped[context], Labels, WrappedRuleBlocks[context], targetFpr);

    public static OutOfFold Score(MLContext ml, IReadOnlyList<Sample> rows, IReadOnlyList<(string Text, bool Label)> samples,
        string config, float l2, string features)
    {
        var folds = NearDuplicates.Folds(samples.Select(s => s.Text).ToList(), samples.Select(s => s.Label).ToList(), Trainer.Folds);
        var plain = new double[samples.Count];
        var contexts = IndirectContexts.All;
        var wrapped = contexts.Select(_ => new double[samples.Count]).ToArray();
        var models = new ITransformer[Trainer.Folds];
        for (var k = 0; k < Trainer.Folds; k++)
        {
            models[k] = Trainer.Fit(ml, samples.Where((_, i) => folds[i] != k), config, l2);
            var probability = Probability(ml, models[k], features);
            for (var i = 0; i < samples.Count; i++)
            {
                if (folds[i] != k)
                    continue;
                plain[i] = probability(samples[i].Text);
                for (var c = 0; c < contexts.Count; c++)
                    wrapped[c][i] = InjectionDetector.ClassifierInputs(contexts[c].Wrap(rows[i].Text, i), contexts[c].Role)
                        .Max(input => probability(InjectionClassifier.Input(input.Text, features)));
            }
        }
        var rules = new InjectionDetector(null);
        var ruleBlocks = rows.Select(r => rules.Detect(r.Text).Block).ToArray();
        var wrappedRuleBlocks = contexts.Select(c => rows.Select((r, i) => rules.Detect(c.Wrap(r.Text, i), c.Role).Block).ToArray()).ToArray();
        return new OutOfFold(folds, models, samples.Select(s => s.Label).ToArray(), plain, wrapped, ruleBlocks, wrappedRuleBlocks);
    }

    /// <summary>The probability <paramref name="model"/> gives a normalised text, 0 for text the classifier does not read.</summary>
    public static Func<string, double> Probability(MLContext ml, ITransformer model, string features)
    {
        var engine = ml.Model.CreatePredictionEngine<ClassifierInput, ClassifierOutput>(model);
        return normalized => InjectionClassifier.Reads(normalized) ? engine.Predict(new ClassifierInput { Text = normalized }).Probability : 0;
    }
}
