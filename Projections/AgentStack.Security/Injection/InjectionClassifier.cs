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
/// What training decided alongside the model: the probability at which the classifier alone blocks a user input
/// (<see cref="Threshold"/>) and, per role, for retrieved documents and tool outputs (<see cref="RoleThresholds"/>:
/// there the classifier reads every piece of a page, so each role has its own threshold, placed on train for that
/// role's texts; a role not listed uses <see cref="Threshold"/>); and what the model reads (<c>text</c>: the normalised
/// text; <see cref="HijackLexicon.Features"/>: the text followed by its concept tokens).
/// </summary>
public sealed record ClassifierSettings(double Threshold, string TrainedOn, string TrainedAt, string Features = ClassifierSettings.PlainText,
    IReadOnlyDictionary<string, double>? RoleThresholds = null)
{
    public const string PlainText = "text";

    public double ThresholdFor(string role) => RoleThresholds is not null && RoleThresholds.TryGetValue(role, out var t) ? t : Threshold;
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
    /// The fewest words (whitespace-separated tokens holding a letter) a text needs for the classifier to judge it.
    /// Below that a character n-gram model reads a handful of n-grams and scores noise: identifiers, URLs and
    /// setting names ("OPENAI_API_KEY", "https://example.org") that agents pass around as strings. Rules still
    /// read short text. Out of fold on train this loses no attack the classifier caught (docs/security-engine.md).
    /// Scripts written without spaces (Chinese, Japanese, Korean syllables, Thai, Khmer …) count by letters instead:
    /// <see cref="MinimumUnspacedLetters"/> of them are read.
    /// </summary>
    public const int MinimumWords = 3;

    public const int MinimumUnspacedLetters = 6;

    /// <summary>Whether <paramref name="normalizedText"/> is long enough for the classifier (<see cref="MinimumWords"/>).</summary>
    public static bool Reads(string normalizedText)
    {
        var words = 0;
        var unspaced = 0;
        var inWord = false;
        var letter = false;
        foreach (var c in normalizedText)
        {
            if (char.IsWhiteSpace(c))
            {
                if (inWord && letter && ++words >= MinimumWords)
                    return true;
                inWord = letter = false;
                continue;
            }
            inWord = true;
            if (!char.IsLetter(c))
                continue;
            letter = true;
            if (Unspaced(c) && ++unspaced >= MinimumUnspacedLetters)
                return true;
        }
        return inWord && letter && words + 1 >= MinimumWords;
    }

    /// <summary>Letters of scripts written without spaces between words.</summary>
    private static bool Unspaced(char c) =>
        c is (>= '\u3040' and <= '\u30FF') or (>= '\u3400' and <= '\u4DBF') or (>= '\u4E00' and <= '\u9FFF') or (>= '\uAC00' and <= '\uD7AF')
            or (>= '\u0E00' and <= '\u0EFF') or (>= '\u1000' and <= '\u109F') or (>= '\u1780' and <= '\u17FF');

    /// <summary>
    /// The classifier's probability on the detector's 0..1 scale, where 0.5 is the trained threshold of
    /// <paramref name="role"/>: the detector blocks at 0.5 whichever part (rules or classifier) gave the score.
    /// 0 for text the classifier does not read (<see cref="Reads"/>).
    /// </summary>
    public double Score(string normalizedText, string role = TextRoles.UserInput)
    {
        if (!Reads(normalizedText))
            return 0;
        var p = Probability(normalizedText);
        var t = Settings.ThresholdFor(role);
        return p < t ? 0.5 * p / t : 0.5 + 0.5 * (p - t) / (1 - t);
    }
}
