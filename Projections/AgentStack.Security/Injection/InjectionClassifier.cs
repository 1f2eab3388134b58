using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace AgentStack.Security.Injection;

/// <summary>The classifier's input row: normalised text and, for training, its label.</summary>
public sealed class ClassifierInput
{
    public string Text { get; set; } = "";

    public bool Label { get; set; }
}

public sealed class ClassifierOutput
{
    [ColumnName("Probability")]
    public float Probability { get; set; }
}

/// <summary>
/// What training decided alongside the model: the probability at which the classifier alone blocks, and what
/// the model reads (<c>text</c>: the normalised text; <see cref="HijackLexicon.Features"/>: the text followed by
/// its concept tokens).
/// </summary>
public sealed record ClassifierSettings(double Threshold, string TrainedOn, string TrainedAt, string Features = ClassifierSettings.PlainText)
{
    public const string PlainText = "text";
}

/// <summary>
/// The text classifier of the injection detector: an ML.NET model (word and character n-grams, logistic
/// regression) trained by <c>AgentStack.Security.Training</c> on the normalised text, and shipped in this
/// assembly as <c>injection-classifier.zip</c> (docs/security-engine.md says how to retrain it).
/// A <see cref="PredictionEngine{TSrc,TDst}"/> is not thread-safe: engines are pooled.
/// </summary>
public sealed class InjectionClassifier
{
    public const string ModelResource = "injection-classifier.zip";
    public const string SettingsResource = "injection-classifier.json";

    private readonly ITransformer _model;
    private readonly MLContext _ml = new(seed: 0);
    private readonly ConcurrentBag<PredictionEngine<ClassifierInput, ClassifierOutput>> _engines = [];

    public InjectionClassifier(Stream model, ClassifierSettings settings)
    {
        _model = _ml.Model.Load(model, out _);
        Settings = settings;
    }

    public ClassifierSettings Settings { get; }

    /// <summary>The model shipped in this assembly; null when the assembly was built without one.</summary>
    public static InjectionClassifier? LoadEmbedded()
    {
        var assembly = typeof(InjectionClassifier).Assembly;
        using var model = assembly.GetManifestResourceStream(ModelResource);
        using var settings = assembly.GetManifestResourceStream(SettingsResource);
        if (model is null || settings is null)
            return null;
        return new InjectionClassifier(model, JsonSerializer.Deserialize<ClassifierSettings>(settings, SecurityJson.Options)!);
    }

    /// <summary>
    /// A model retrained and deployed without rebuilding (<c>AgentStack:Security:Injection:ModelDirectory</c>):
    /// the directory holds <see cref="ModelResource"/> and <see cref="SettingsResource"/> as training writes them.
    /// </summary>
    public static InjectionClassifier LoadFrom(string directory)
    {
        using var model = File.OpenRead(Path.Combine(directory, ModelResource));
        var settings = JsonSerializer.Deserialize<ClassifierSettings>(File.ReadAllText(Path.Combine(directory, SettingsResource)), SecurityJson.Options)
            ?? throw new InvalidDataException($"{Path.Combine(directory, SettingsResource)} holds no classifier settings.");
        return new InjectionClassifier(model, settings);
    }

    /// <summary>The probability that <paramref name="normalizedText"/> is an injection or jailbreak.</summary>
    public double Probability(string normalizedText)
    {
        if (!_engines.TryTake(out var engine))
            engine = _ml.Model.CreatePredictionEngine<ClassifierInput, ClassifierOutput>(_model);
        try
        {
            return engine.Predict(new ClassifierInput { Text = Input(normalizedText, Settings.Features) }).Probability;
        }
        finally
        {
            _engines.Add(engine);
        }
    }

    /// <summary>What a model trained with <paramref name="features"/> reads for <paramref name="normalizedText"/>: training and scoring share it.</summary>
    public static string Input(string normalizedText, string features) =>
        features == HijackLexicon.Features ? HijackLexicon.Annotate(normalizedText) : normalizedText;

    /// <summary>
    /// The classifier's probability on the detector's 0..1 scale, where 0.5 is the trained threshold: the
    /// detector blocks at 0.5 whichever part (rules or classifier) gave the score.
    /// </summary>
    public double Score(string normalizedText)
    {
        var p = Probability(normalizedText);
        var t = Settings.Threshold;
        return p < t ? 0.5 * p / t : 0.5 + 0.5 * (p - t) / (1 - t);
    }
}
