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
/// on a held-out fifth of train (by hash of the text) for a false-positive rate of at most 1%, then the
/// model is refitted on all of train and written beside the detector with its settings.
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

    public static int Run(string dataDir, string outDir, bool extra)
    {
        var rows = Dataset.Read(Path.Combine(dataDir, "train.jsonl"));
        if (extra)
            rows.AddRange(Dataset.Read(Path.Combine(dataDir, "extra", "promptshield_dedup.jsonl"))
                .Where(r => r.Split is "train" or "val"));
        var samples = rows.Select(r => (Text: TextNormalizer.Normalize(r.Text).Text, Label: r.Label == 1)).ToList();
        Console.WriteLine($"training rows: {samples.Count} ({samples.Count(s => s.Label)} attacks)");

        var ml = new MLContext(seed: 0);
        var held = samples.Where(s => Fold(s.Text) == 0).ToList();
        var fit = samples.Where(s => Fold(s.Text) != 0).ToList();
        var probe = Fit(ml, fit);
        var engine = ml.Model.CreatePredictionEngine<ClassifierInput, ClassifierOutput>(probe);
        var scored = held.Select(s => (P: engine.Predict(new ClassifierInput { Text = s.Text }).Probability, s.Label)).ToList();
        var benign = scored.Where(s => !s.Label).Select(s => s.P).OrderDescending().ToList();
        // The smallest threshold that keeps held-out false positives at or under 1%.
        var allowed = (int)Math.Floor(benign.Count * 0.01);
        var threshold = Math.Clamp(benign[Math.Min(allowed, benign.Count - 1)] + 1e-4, 0.2, 0.9);
        var recall = scored.Where(s => s.Label).Count(s => s.P >= threshold) / (double)scored.Count(s => s.Label);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"held-out fifth of train: threshold {threshold:0.0000}, recall {recall:0.000}, benign {benign.Count}"));

        var model = Fit(ml, samples);
        Directory.CreateDirectory(outDir);
        var modelPath = Path.Combine(outDir, InjectionClassifier.ModelResource);
        ml.Model.Save(model, null, modelPath);
        var settings = new ClassifierSettings(Math.Round(threshold, 4),
            extra ? "train.jsonl + extra/promptshield_dedup.jsonl (train, val)" : "train.jsonl",
            DateTime.UtcNow.ToString("yyyyMMddHHmm", CultureInfo.InvariantCulture));
        File.WriteAllText(Path.Combine(outDir, InjectionClassifier.SettingsResource),
            JsonSerializer.Serialize(settings, new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true }) + "\n");
        Console.WriteLine($"wrote {modelPath} ({new FileInfo(modelPath).Length / 1024} KB)");
        return 0;
    }

    private static ITransformer Fit(MLContext ml, IEnumerable<(string Text, bool Label)> samples)
    {
        var data = ml.Data.LoadFromEnumerable(samples.Select(s => new ClassifierInput { Text = s.Text, Label = s.Label }));
        var options = new TextFeaturizingEstimator.Options
        {
            CaseMode = TextNormalizingEstimator.CaseMode.None,
            KeepDiacritics = true,
            KeepPunctuations = true,
            KeepNumbers = true,
            WordFeatureExtractor = new WordBagEstimator.Options { NgramLength = 2, UseAllLengths = true, MaximumNgramsCount = [60000] },
            CharFeatureExtractor = new WordBagEstimator.Options { NgramLength = 4, UseAllLengths = false, MaximumNgramsCount = [60000] },
            Norm = TextFeaturizingEstimator.NormFunction.L2,
        };
        var pipeline = ml.Transforms.Text.FeaturizeText("Features", options, nameof(ClassifierInput.Text))
            .Append(ml.BinaryClassification.Trainers.SdcaLogisticRegression(
                labelColumnName: nameof(ClassifierInput.Label), featureColumnName: "Features", l2Regularization: 1e-4f, maximumNumberOfIterations: 100));
        return pipeline.Fit(data);
    }

    private static int Fold(string text) => SHA256.HashData(Encoding.UTF8.GetBytes(text))[0] % 5;
}
