using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks/AgentStack.Otlp.Benchmarks -- --filter '*'
// A short job (3 warm-ups, 8 iterations) so the whole run fits in a couple of minutes on 2 cores.
var config = DefaultConfig.Instance
    .AddJob(Job.Default.WithWarmupCount(3).WithIterationCount(8).WithLaunchCount(1).WithId("short"));
BenchmarkSwitcher.FromAssembly(typeof(AgentStack.Otlp.Benchmarks.ExportMapping).Assembly).Run(args, config);
