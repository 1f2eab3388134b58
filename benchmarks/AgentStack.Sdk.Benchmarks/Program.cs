using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks/AgentStack.Sdk.Benchmarks -- --filter '*'
// dotnet run -c Release --project benchmarks/AgentStack.Sdk.Benchmarks -- --interleaved [rounds] [spans per block]
if (args is ["--interleaved", ..])
{
    AgentStack.Sdk.Benchmarks.Interleaved.Run(
        args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 41,
        args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 100_000, Console.Out);
    return;
}
// A short job (3 warm-ups, 8 iterations) so the whole run fits in a few minutes on 2 cores.
var config = DefaultConfig.Instance
    .AddJob(Job.Default.WithWarmupCount(3).WithIterationCount(8).WithLaunchCount(1).WithId("short"));
BenchmarkSwitcher.FromAssembly(typeof(AgentStack.Sdk.Benchmarks.SpanOverhead).Assembly).Run(args, config);
