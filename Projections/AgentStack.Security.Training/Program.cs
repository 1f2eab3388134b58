using AgentStack.Security.Training;

return args switch
{
    ["train", "--data", var data, ..] => Trainer.Run(data, Option(args, "--out") ?? Trainer.DefaultModelFolder(), args.Contains("--extra"),
        double.Parse(Option(args, "--fpr") ?? "0.015", System.Globalization.CultureInfo.InvariantCulture), Option(args, "--config") ?? Trainer.DefaultConfig,
        Option(args, "--features") ?? Trainer.DefaultFeatures, L2(args)),
    ["evaluate", "--data", var data, ..] => Evaluation.Run(data, Option(args, "--model")),
    ["oof", "--data", var data, "--out", var file, ..] => Experiment.Run(data, file, Option(args, "--config") ?? "a", int.Parse(Option(args, "--folds") ?? "5", System.Globalization.CultureInfo.InvariantCulture),
        Option(args, "--features") ?? Trainer.DefaultFeatures, L2(args)),
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
               evaluate --data DIR [--model DIR]         precision, recall, FPR on DIR/test.jsonl
               throughput --data DIR [--model DIR] [--seconds 5]
                                                 Detect on one thread over DIR/test.jsonl: texts/s, MB/s
               latency [--url URL --key KEY]             guard p50/p99 for 256 B, 4 KB, 64 KB
        """);
    return 2;
}
