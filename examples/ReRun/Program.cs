using AgentStack.Examples.ReRun;

// dotnet run --project examples/ReRun -- --trace TRACE_ID --replay-steps 1 [--price 99] [--endpoint URL] [--api-key KEY] [--project P]
if (!ReRunOptions.TryParse(args, out var options, out var error))
{
    await Console.Error.WriteLineAsync(error);
    await Console.Error.WriteLineAsync(ReRunOptions.Usage);
    return 2;
}
var result = await ReRunApp.RunAsync(options, Console.Out, CancellationToken.None);
return result.ExitCode;
