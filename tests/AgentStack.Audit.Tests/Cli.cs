using System.Diagnostics;
using AgentStack.Testing;

namespace AgentStack.Audit.Tests;

/// <summary>Runs <c>./agentstack</c> from the repository root as a user would, with no server involved.</summary>
public static class Cli
{
    public static string RepositoryRoot { get; } = FindRoot();

    public static async Task<(int ExitCode, string Output)> RunAsync(params string[] args)
    {
        var info = new ProcessStartInfo(Path.Combine(RepositoryRoot, "agentstack"))
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = RepositoryRoot,
        };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        return (process.ExitCode, await stdout + await stderr);
    }

    private static string FindRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "AgentStack.sln")))
            directory = directory.Parent;
        return directory?.FullName ?? throw new InvalidOperationException("AgentStack.sln not found above " + AppContext.BaseDirectory);
    }
}

public static class Postgres
{
    public static string ConnectionString =>
        Environment.GetEnvironmentVariable("ConnectionStrings__Postgres") is { Length: > 0 } configured
            ? configured
            : "Host=127.0.0.1;Port=55432;Username=postgres;Database=postgres";

    public static Dictionary<string, string> EventStoreSettings(string schema) => new()
    {
        ["AgentStack__EventStore__Provider"] = "Marten",
        ["AgentStack__EventStore__Schema"] = schema,
        ["ConnectionStrings__Postgres"] = ConnectionString,
    };

    public static string NewSchema() => "audit_" + Spans.NewId()[..12];
}
