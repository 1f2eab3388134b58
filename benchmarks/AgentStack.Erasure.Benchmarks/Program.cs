using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks/AgentStack.Erasure.Benchmarks -- --filter '*'
// A short job (3 warm-ups, 8 iterations) so the whole run fits in a minute or two on 2 cores.
var config = DefaultConfig.Instance
    .AddJob(Job.Default.WithWarmupCount(3).WithIterationCount(8).WithLaunchCount(1).WithId("short"));
BenchmarkSwitcher.FromAssembly(typeof(AgentStack.Erasure.Benchmarks.SealingSpans).Assembly).Run(args, config);
