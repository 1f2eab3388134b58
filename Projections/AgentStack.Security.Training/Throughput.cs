using System.Diagnostics;
using System.Globalization;
using System.Text;
using AgentStack.Security.Injection;

namespace AgentStack.Security.Training;

/// <summary>
/// Detector throughput on one thread (issue 15: the detectors run as a projection beside ingestion): the
/// texts of test.jsonl as user input, then the same texts inside the four indirect contexts (documents and
/// tool outputs), each timed over whole passes after a warm-up pass. Prints texts/s and MB/s (UTF-8) for the
/// normalisation alone, the rules (normalisation + rules, no model) and the whole detector.
/// </summary>
public static class Throughput
{
    public static int Run(string dataDir, string? modelDir, double seconds)
    {
        // No verdict cache: every pass screens every text again, as if each were new.
        var detector = new InjectionDetector(modelDir is null ? InjectionClassifier.LoadEmbedded() : InjectionClassifier.LoadFrom(modelDir));
        var cached = new InjectionDetector(detector.Classifier, InjectionDetector.DefaultCachedCharacters);
        var rulesOnly = new InjectionDetector(null);
        var test = Dataset.Read(Path.Combine(dataDir, "test.jsonl"));
        var direct = test.Select(r => (Text: r.Text, Role: TextRoles.UserInput)).ToArray();
        var indirect = IndirectContexts.All.SelectMany(c => test.Select((r, i) => (Text: c.Wrap(r.Text, i), c.Role))).ToArray();
        Console.WriteLine($"detector {InjectionDetector.Name} {detector.Version}, one thread, at least {seconds:0.#} s per row\n");
        Console.WriteLine("| texts | part | texts | MB | texts/s | MB/s | µs/text |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|");
        foreach (var (name, texts) in new[] { ("test.jsonl as user input", direct), ("the same in documents and tool outputs", indirect) })
        {
            Print(name, "normalisation", texts, Measure(texts, seconds, t => TextNormalizer.Views(t.Text).Count));
            Print(name, "normalisation + every rule regex", texts, Measure(texts, seconds,
                t => TextNormalizer.Views(t.Text).Sum(v => InjectionRules.Match(v.Text, prefilter: false).Count)));
            Print(name, "normalisation + rules (prefiltered)", texts, Measure(texts, seconds,
                t => TextNormalizer.Views(t.Text).Sum(v => InjectionRules.Match(v.Text).Count)));
            Print(name, "whole detector", texts, Measure(texts, seconds, t => detector.Detect(t.Text, t.Role).Findings.Count));
            Print(name, "whole detector, texts seen before (verdict cache)", texts, Measure(texts, seconds, t => cached.Detect(t.Text, t.Role).Findings.Count));
        }
        var views0 = direct.Concat(indirect).SelectMany(t => TextNormalizer.Views(t.Text)).Select(v => v.Text).ToList();
        var same = views0.Count(v => InjectionRules.Match(v).SequenceEqual(InjectionRules.Match(v, prefilter: false)));
        Console.WriteLine($"\nRule matches with the prefilter equal those of every regex on {same} of {views0.Count} normalised texts.");
        Console.WriteLine("\nThe slowest rules (time of each rule's regex over the normalised texts above, one pass):\n");
        var views = direct.Concat(indirect).Select(t => TextNormalizer.Normalize(t.Text).Text).ToArray();
        var perRule = InjectionRules.All.Select(rule =>
        {
            var clock = Stopwatch.StartNew();
            var n = 0;
            foreach (var v in views)
                n += rule.Pattern.Count(v);
            return (rule.Id, Ms: clock.Elapsed.TotalMilliseconds, Matches: n);
        }).OrderByDescending(r => r.Ms).ToList();
        Console.WriteLine($"| rule | ms | matches |\n|---|---:|---:|");
        foreach (var r in perRule.Take(12))
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {r.Id} | {r.Ms:0.0} | {r.Matches} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| all {perRule.Count} rules | {perRule.Sum(r => r.Ms):0.0} | {perRule.Sum(r => r.Matches)} |"));
        return 0;
    }

    /// <summary>Whole passes over the texts until <paramref name="seconds"/> have gone by, after one warm-up pass.</summary>
    private static (int Passes, TimeSpan Elapsed) Measure((string Text, string Role)[] texts, double seconds, Func<(string Text, string Role), int> run)
    {
        var sink = 0;
        foreach (var t in texts)
            sink += run(t);
        var clock = Stopwatch.StartNew();
        var passes = 0;
        do
        {
            foreach (var t in texts)
                sink += run(t);
            passes++;
        }
        while (clock.Elapsed.TotalSeconds < seconds);
        GC.KeepAlive(sink);
        return (passes, clock.Elapsed);
    }

    private static void Print(string name, string part, (string Text, string Role)[] texts, (int Passes, TimeSpan Elapsed) m)
    {
        var bytes = texts.Sum(t => (long)Encoding.UTF8.GetByteCount(t.Text));
        var n = (double)texts.Length * m.Passes;
        var s = m.Elapsed.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {part} | {texts.Length} | {bytes / 1e6:0.00} | {n / s:0} | {bytes * m.Passes / 1e6 / s:0.00} | {s * 1e6 / n:0} |"));
    }
}
