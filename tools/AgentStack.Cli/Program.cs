using AgentStack.Cli;

return await AuditCommands.RunAsync(args, Console.Out, Console.Error);
