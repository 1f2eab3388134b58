using AgentStack.Cli;

return args is ["projections", .. var rest]
    ? await ProjectionCommands.RunAsync(rest, Console.Out, Console.Error)
    : await AuditCommands.RunAsync(args, Console.Out, Console.Error);
