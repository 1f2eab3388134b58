using System.Diagnostics;

namespace AgentStack.Testing;

/// <summary>
/// A RabbitMQ node of this test's own (scripts/services.sh with its own folder, ports and node name), for tests that
/// stop the broker: the shared broker other test runs use is never paused (issue 13).
/// </summary>
public sealed class PrivateRabbitMq : IAsyncDisposable
{
    private readonly Dictionary<string, string> environment;

    private PrivateRabbitMq(int port, string directory)
    {
        Port = port;
        Directory = directory;
        environment = new()
        {
            ["AGENTSTACK_SERVICES_DIR"] = directory,
            ["AGENTSTACK_RABBIT_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["AGENTSTACK_RABBIT_DIST_PORT"] = ChildProcesses.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
    }

    public int Port { get; }
    public string Directory { get; }
    public string ConnectionString => $"amqp://guest:guest@127.0.0.1:{Port}/";

    /// <summary>Bus settings for a server on this node, with a fresh queue prefix.</summary>
    public Dictionary<string, string> BusSettings() => new()
    {
        ["AgentStack__Bus__Transport"] = "RabbitMq",
        ["ConnectionStrings__RabbitMq"] = ConnectionString,
        ["AgentStack__Bus__QueuePrefix"] = "t" + Guid.NewGuid().ToString("N")[..8],
    };

    public static async Task<PrivateRabbitMq> StartAsync()
    {
        var port = ChildProcesses.FreePort();
        var rabbit = new PrivateRabbitMq(port, Path.Combine(Path.GetTempPath(), $"agentstack-rabbit-{port}"));
        try
        {
            await rabbit.RunAsync("rabbitmq-start");
        }
        catch
        {
            // A node that came up late must not outlive the test.
            await rabbit.DisposeAsync();
            throw;
        }
        return rabbit;
    }

    /// <summary>The broker stops accepting (scripts/services.sh rabbitmq-pause); its node stays up.</summary>
    public Task PauseAsync() => RunAsync("rabbitmq-pause");

    public Task ResumeAsync() => RunAsync("rabbitmq-resume");

    /// <summary>The end of each of the node's own log files (what a failed test shows of the broker's side).</summary>
    public string LogTail(int charactersPerFile = 4000)
    {
        var logs = Path.Combine(Directory, "rabbitmq", "log");
        if (!System.IO.Directory.Exists(logs))
            return "(no broker log)";
        return string.Join("\n", System.IO.Directory.GetFiles(logs, "*.log").Order(StringComparer.Ordinal).Select(file =>
        {
            using var reader = new StreamReader(new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
            return $"== {Path.GetFileName(file)}\n" + ServerProcess.Tail(reader.ReadToEnd(), charactersPerFile);
        }));
    }

    public async ValueTask DisposeAsync()
    {
        await RunAsync("rabbitmq-stop");
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // a log file still held by the stopping node: the temp folder is left behind
        }
    }

    /// <summary>The broker's queues with their consumers and messages, or why they could not be listed (for a failure message).</summary>
    public async Task<string> QueuesAsync()
    {
        try
        {
            return await RunAsync("rabbitmq-queues", captureOutput: true);
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
            return $"(queues not listed: {e.Message})";
        }
    }

    /// <remarks>
    /// Output is captured only where asked: a command that starts the node leaves daemons that could hold the pipe open.
    /// </remarks>
    private async Task<string> RunAsync(string command, bool captureOutput = false)
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "AgentStack.sln")))
            directory = directory.Parent;
        var start = new ProcessStartInfo(Path.Combine(directory!.FullName, "scripts", "services.sh"))
        {
            ArgumentList = { command },
            RedirectStandardOutput = captureOutput,
        };
        foreach (var (key, value) in environment)
            start.Environment[key] = value;
        using var process = Process.Start(start)!;
        var output = captureOutput ? process.StandardOutput.ReadToEndAsync() : Task.FromResult("");
        // An Erlang VM boots in seconds on an idle machine, in minutes on a saturated one.
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"scripts/services.sh {command} exited with {process.ExitCode}");
        return await output;
    }
}
