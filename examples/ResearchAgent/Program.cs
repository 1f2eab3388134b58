using AgentStack.Examples.ResearchAgent;

// dotnet run --project examples/ResearchAgent -- --runs 20 --backfill-days 7 [--endpoint URL] [--api-key KEY]
if (!DemoOptions.TryParse(args, out var options, out var error))
{
    await Console.Error.WriteLineAsync(error);
    await Console.Error.WriteLineAsync(DemoOptions.Usage);
    return 2;
}
var result = await ResearchAgentApp.RunAsync(options, Console.Out, CancellationToken.None);
return result.ExitCode;
