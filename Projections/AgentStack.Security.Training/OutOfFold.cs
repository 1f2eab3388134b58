using AgentStack.Security.Injection;
using Microsoft.ML;

namespace AgentStack.Security.Training;

/// <summary>
/// Out-of-fold classifier probabilities on train.jsonl: each row scored by a model fitted on the other folds. Folds are
/// group-aware (<see cref="NearDuplicates"/>): near-duplicate rows share a fold, so these scores resemble text the model
/// never saw. <see cref="Plain"/> is each row as it is; <see cref="Wrapped"/> is the same row inside each of
/// <see cref="IndirectContexts.All"/>: the highest probability over every text the detector's classifier reads there (the
/// whole, its pieces, comments), so thresholds placed on it hold in those wrappers.
/// </summary>
public sealed record OutOfFold(int[] Folds, ITransformer[] Models, double[] Plain, double[][] Wrapped)
{
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
        return new OutOfFold(folds, models, plain, wrapped);
    }

    /// <summary>The probability <paramref name="model"/> gives a normalised text, 0 for text the classifier does not read.</summary>
    public static Func<string, double> Probability(MLContext ml, ITransformer model, string features)
    {
        var engine = ml.Model.CreatePredictionEngine<ClassifierInput, ClassifierOutput>(model);
        return normalized => InjectionClassifier.Reads(normalized) ? engine.Predict(new ClassifierInput { Text = normalized }).Probability : 0;
    }
}
