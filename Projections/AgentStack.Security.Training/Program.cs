using AgentStack.Security.Training;
using AgentStack.Security.Injection;

return args switch
{
    ["train", "--data", var data, ..] => Trainer.Run(data, Option(args, "--out") ?? Trainer.DefaultModelFolder(), args.Contains("--extra"),
        double.Parse(Option(args, "--fpr") ?? "0.015", System.Globalization.CultureInfo.InvariantCulture), Option(args, "--config") ?? Trainer.DefaultConfig,
        Option(args, "--features") ?? Trainer.DefaultFeatures, L2(args)),
    ["misses", "--data", var data, ..] => Misses.Run(data, double.Parse(Option(args, "--fpr") ?? "0.015", System.Globalization.CultureInfo.InvariantCulture),
        Option(args, "--config") ?? Trainer.DefaultConfig, L2(args)),
    ["evaluate", "--data", var data, ..] => Evaluation.Run(data, Option(args, "--model")),
    ["clean", ..] => Evaluation.Clean(InjectionDetector.Load(Option(args, "--model"))),
    ["oof", "--data", var data, "--out", var file, ..] => Experiment.Run(data, file, Option(args, "--config") ?? "a", int.Parse(Option(args, "--folds") ?? "5", System.Globalization.CultureInfo.InvariantCulture),
        Option(args, "--features") ?? Trainer.DefaultFeatures, L2(args)),
    ["select", "--data", var data, ..] => Selection.Run(data, Option(args, "--out") ?? ".", double.Parse(Option(args, "--fpr") ?? "0.015", System.Globalization.CultureInfo.InvariantCulture),
        (Option(args, "--configs") ?? Trainer.DefaultConfig).Split(','),
        (Option(args, "--l2s") ?? "0.000001").Split(',').Select(v => float.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray(),
        (Option(args, "--weights") ?? "W1").Split(','), args.Contains("--extra"), args.Contains("--hash-folds"),
        Option(args, "--grouping") is { } g ? NearDuplicates.Rule.Parse(g) : null),
    ["throughput", "--data", var data, ..] => Throughput.Run(data, Option(args, "--model"),
        double.Parse(Option(args, "--seconds") ?? "5", System.Globalization.CultureInfo.InvariantCulture)),
    ["latency", ..] => await Latency.RunAsync(Option(args, "--url"), Option(args, "--key")),
    _ => Usage(),
};

static string? Option(string[] args, string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

static float L2(string[] args) =>
    Option(args, "--l2") is { } l2 ? float.Parse(l2, System.Globalization.CultureInfo.InvariantCulture) : Trainer.DefaultL2;

static int Usage()
{
    Console.Error.WriteLine("""
        usage: train --data DIR [--out DIR] [--extra] [--fpr 0.015] [--config b] [--features text+lexicon] [--l2 0.0001]
                                                 trains on DIR/train.jsonl (never test.jsonl)
               oof --data DIR --out FILE [--config b] [--folds 5] [--features text+lexicon] [--l2 0.0001]
                                                 out-of-fold classifier and rule scores on train.jsonl, as TSV
               select --data DIR [--out DIR] [--fpr 0.015] [--configs t,b] [--l2s 0.000001,0.00001] [--weights W1,WA2,WX03] [--extra] [--hash-folds] [--grouping 5,0.5,0.8]
                                                 model selection on train.jsonl: out-of-fold table per variant (group-aware folds)
               misses --data DIR [--fpr 0.015] [--config tch] [--l2 0.000001]
                                                 train only: attacks blocked as user input out of fold but not inside documents and tool outputs
               evaluate --data DIR [--model DIR]         precision, recall, FPR on DIR/test.jsonl
               clean [--model DIR]                       the benign trigger-word documents only (no test.jsonl)
               throughput --data DIR [--model DIR] [--seconds 5]
                                                 Detect on one thread over DIR/test.jsonl: texts/s, MB/s
               latency [--url URL --key KEY]             guard p50/p99 for 256 B, 4 KB, 64 KB
        """);
    return 2;
}
