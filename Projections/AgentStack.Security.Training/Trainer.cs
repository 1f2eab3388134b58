using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AgentStack.Security.Injection;
using Microsoft.ML;
using Microsoft.ML.Transforms.Text;

namespace AgentStack.Security.Training;

/// <summary>
/// Trains the injection classifier on train.jsonl only (never test.jsonl). The block threshold is chosen
/// on out-of-fold scores over all of train (5 group-aware folds, <see cref="NearDuplicates"/>) together with the rules, for a
/// false-positive rate of the whole detector of at most <c>--fpr</c> (1.5% by default, under the 2% budget
/// of issue 15): for user input on the rows as they are, for retrieved documents and tool outputs on the rows placed in
/// such wrappers (<see cref="IndirectContexts"/>), one threshold per role. Then the model is refitted on all of train and
/// written beside the detector with its settings.
/// </summary>
public static class Trainer
{
    public static string DefaultModelFolder()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "AgentStack.sln")))
            dir = dir.Parent;
        return Path.Combine(dir?.FullName ?? ".", "Projections", "AgentStack.Security", "Injection");
    }

    public static int Run(string dataDir, string outDir, bool extra, double targetFpr = 0.015, string config = DefaultConfig,
        string features = DefaultFeatures, float l2 = DefaultL2)
    {
        var rows = Dataset.Read(Path.Combine(dataDir, "train.jsonl"));
        if (extra)
            rows.AddRange(Dataset.Read(Path.Combine(dataDir, "extra", "promptshield_dedup.jsonl"))
                .Where(r => r.Split is "train" or "val"));
        var samples = OutOfFold.Samples(rows, features);
        Console.WriteLine($"training rows: {samples.Count} ({samples.Count(s => s.Label)} attacks)");

        var ml = new MLContext(seed: 0);
        var scores = OutOfFold.Score(ml, rows, samples, config, l2, features);
        var (oof, wrapped, contexts) = (scores.Plain, scores.Wrapped, IndirectContexts.All);
        var (labels, ruleBlocks, wrappedRuleBlocks) = (scores.Labels, scores.RuleBlocks, scores.WrappedRuleBlocks);
        // Per role: user input on the rows as they are; retrieved documents and tool outputs in each of their wrappers.
        var threshold = scores.UserThreshold(targetFpr);
        var roleThresholds = scores.RoleThresholds(targetFpr).ToDictionary(r => r.Key, r => Math.Round(r.Value, 4));
        var attacks = Enumerable.Range(0, samples.Count).Where(i => labels[i]).ToList();
        var benign = Enumerable.Range(0, samples.Count).Where(i => !labels[i]).ToList();
        string Figures(double[] p, bool[] blocks, double t) => string.Create(CultureInfo.InvariantCulture,
            $"threshold {t:0.0000}, recall {attacks.Count(i => blocks[i] || p[i] >= t) / (double)attacks.Count:0.000}, FPR {benign.Count(i => blocks[i] || p[i] >= t) / (double)benign.Count:0.0000}");
        Console.WriteLine($"out of fold ({Folds} group-aware folds, rules + classifier, target FPR {targetFpr.ToString(CultureInfo.InvariantCulture)}):");
        Console.WriteLine($"  user_input: {Figures(oof, ruleBlocks, threshold)}");
        for (var c = 0; c < contexts.Count; c++)
            Console.WriteLine($"  {contexts[c].Role}: {contexts[c].Name}: {Figures(wrapped[c], wrappedRuleBlocks[c], roleThresholds[contexts[c].Role])}");

        var model = Fit(ml, samples, config, l2);
        Directory.CreateDirectory(outDir);
        var modelPath = Path.Combine(outDir, InjectionClassifier.ModelResource);
        ml.Model.Save(model, null, modelPath);
        var settings = new ClassifierSettings(Math.Round(threshold, 4),
            extra ? "train.jsonl + extra/promptshield_dedup.jsonl (train, val)" : "train.jsonl",
            DateTime.UtcNow.ToString("yyyyMMddHHmm", CultureInfo.InvariantCulture), features, roleThresholds);
        File.WriteAllText(Path.Combine(outDir, InjectionClassifier.SettingsResource),
            JsonSerializer.Serialize(settings, new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true }) + "\n");
        Console.WriteLine($"wrote {modelPath} ({new FileInfo(modelPath).Length / 1024} KB)");
        return 0;
    }

    public static ITransformer Fit(MLContext ml, IEnumerable<(string Text, bool Label)> samples, string config = DefaultConfig, float l2 = DefaultL2)
    {
        var data = ml.Data.LoadFromEnumerable(samples.Select(s => new ClassifierInput { Text = s.Text, Label = s.Label }));
        return Featurizer(ml, config).AppendCacheCheckpoint(ml).Append(Linear(ml, l2)).Fit(data);
    }

    /// <summary>
    /// The threshold of the classifier's probability: the smallest that keeps the false positives of the whole
    /// detector (a rule or the classifier blocks) at or under <paramref name="targetFpr"/> of the benign rows,
    /// given out-of-fold probabilities (rows the model did not see).
    /// </summary>
    public static double Threshold(double[] oof, bool[] labels, bool[] ruleBlocks, double targetFpr)
    {
        var benign = Enumerable.Range(0, oof.Length).Where(i => !labels[i]).ToList();
        var allowed = (int)Math.Floor(benign.Count * targetFpr) - benign.Count(i => ruleBlocks[i]);
        var open = benign.Where(i => !ruleBlocks[i]).Select(i => oof[i]).OrderDescending().ToList();
        return Math.Clamp(open[Math.Clamp(allowed, 0, open.Count - 1)] + 1e-4, 0.2, 0.95);
    }

    public static IEstimator<ITransformer> Featurizer(MLContext ml, string config)
    {
        var options = new TextFeaturizingEstimator.Options
        {
            CaseMode = TextNormalizingEstimator.CaseMode.None,
            KeepDiacritics = true,
            KeepPunctuations = true,
            KeepNumbers = true,
            WordFeatureExtractor = config switch
            {
                "c" or "w3" => new WordBagEstimator.Options { NgramLength = 3, UseAllLengths = true, MaximumNgramsCount = [40000, 40000, 40000] },
                "t" or "tc5" => new WordBagEstimator.Options { NgramLength = 2, UseAllLengths = true, MaximumNgramsCount = [60000], Weighting = NgramExtractingEstimator.WeightingCriteria.TfIdf },
                "t1" => new WordBagEstimator.Options { NgramLength = 1, UseAllLengths = true, MaximumNgramsCount = [60000], Weighting = NgramExtractingEstimator.WeightingCriteria.TfIdf },
                "tch" or "tch4" or "tch6" or "tch5w" => null,
                _ => new WordBagEstimator.Options { NgramLength = 2, UseAllLengths = true, MaximumNgramsCount = [60000] },
            },
            CharFeatureExtractor = config switch
            {
                "b" or "c" => new WordBagEstimator.Options { NgramLength = 5, UseAllLengths = true, MaximumNgramsCount = [400, 8000, 40000, 60000, 60000] },
                "t" or "t1" => new WordBagEstimator.Options { NgramLength = 4, UseAllLengths = false, MaximumNgramsCount = [60000], Weighting = NgramExtractingEstimator.WeightingCriteria.TfIdf },
                "tc5" or "tch" => new WordBagEstimator.Options { NgramLength = 5, UseAllLengths = false, MaximumNgramsCount = [80000], Weighting = NgramExtractingEstimator.WeightingCriteria.TfIdf },
                "c5" => new WordBagEstimator.Options { NgramLength = 5, UseAllLengths = false, MaximumNgramsCount = [80000] },
                "tch4" => new WordBagEstimator.Options { NgramLength = 4, UseAllLengths = false, MaximumNgramsCount = [80000], Weighting = NgramExtractingEstimator.WeightingCriteria.TfIdf },
                "tch6" => new WordBagEstimator.Options { NgramLength = 6, UseAllLengths = false, MaximumNgramsCount = [80000], Weighting = NgramExtractingEstimator.WeightingCriteria.TfIdf },
                "tch5w" => new WordBagEstimator.Options { NgramLength = 5, UseAllLengths = false, MaximumNgramsCount = [200000], Weighting = NgramExtractingEstimator.WeightingCriteria.TfIdf },
                _ => new WordBagEstimator.Options { NgramLength = 4, UseAllLengths = false, MaximumNgramsCount = [60000] },
            },
            Norm = TextFeaturizingEstimator.NormFunction.L2,
        };
        return ml.Transforms.Text.FeaturizeText("Features", options, nameof(ClassifierInput.Text));
    }

    /// <summary>The logistic regression over the features; <paramref name="weights"/> names a weight column, if any.</summary>
    public static IEstimator<ITransformer> Linear(MLContext ml, float l2, string? weights = null) =>
        ml.BinaryClassification.Trainers.SdcaLogisticRegression(labelColumnName: nameof(ClassifierInput.Label), featureColumnName: "Features",
            exampleWeightColumnName: weights is null or "W1" ? null : weights, l2Regularization: l2, maximumNumberOfIterations: 100);

    public const int Folds = 5;

    /// <summary>
    /// Featurisation: "tch" char 5-grams only, TF-IDF weighted (shipped); "t" word 1-2-grams + char 4-grams, TF-IDF
    /// weighted (shipped before); "a" the same with term
    /// frequencies; "b" char 1-5-grams instead; "c" as "b" with word 1-3-grams; "w3" word 1-3-grams + char
    /// 4-grams; "c5" word 1-2-grams + char 5-grams; "tc5" as "t" with char 5-grams; "t1" as "t" with words
    /// only; "tch" at most 80,000 char 5-grams; "tch4", "tch6" char 4- or 6-grams only; "tch5w" as "tch"
    /// with up to 200,000 5-grams.
    /// </summary>
    public const string DefaultConfig = "tch";

    /// <summary>What the model reads: <c>text</c>, or <c>text+lexicon</c> (<see cref="HijackLexicon"/>).</summary>
    public const string DefaultFeatures = ClassifierSettings.PlainText;

    /// <summary>The L2 regularisation of the logistic regression.</summary>
    public const float DefaultL2 = 1e-6f;

    public static int Fold(string text, int folds = Folds) => (int)(BitConverter.ToUInt32(SHA256.HashData(Encoding.UTF8.GetBytes(text)), 0) % (uint)folds);
}
