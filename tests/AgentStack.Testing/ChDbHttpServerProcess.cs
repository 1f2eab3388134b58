using System.Diagnostics;
using System.Text;

namespace AgentStack.Testing;

/// <summary>
/// The chDB HTTP stand-in for a ClickHouse server (tests/AgentStack.ChDbHttpServer, issue 4) as a real
/// child process on a free loopback port with its own data directory. Several processes (projection
/// workers, a query host) can share it as they would share one ClickHouse server.
/// The stand-in binds port 0 and announces the port the system gave it, so the port cannot be taken
/// by another process between choosing it and binding it (with a port chosen here, a readiness probe
/// could be answered by another suite's stand-in while this one failed to bind).
/// </summary>
public sealed class ChDbHttpServerProcess : IAsyncDisposable
{
    /// <summary>The stand-in's own line naming its address (AgentStack.ChDbHttpServer's EngineStartup.ListeningPrefix).</summary>
    private const string ListeningPrefix = "Listening on: ";

    /// <summary>Longer than the stand-in's own limit on booting its engine (45 s), so its reason arrives first.</summary>
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly StringBuilder output = new();
    private readonly TaskCompletionSource<Uri> address = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Process process;

    private ChDbHttpServerProcess(Process process, string dataDirectory)
    {
        this.process = process;
        DataDirectory = dataDirectory;
    }

    public string DataDirectory { get; }
    public int Port { get; private set; }

    /// <summary>A ClickHouse.Driver connection string for this server (the stand-in has no access control).</summary>
    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=default;Password=";
    public string Output { get { lock (output) return output.ToString(); } }

    /// <summary>
    /// Starts the stand-in on a new data directory and waits until it has booted its engine, announced
    /// its port and answered <c>/ping</c>; a stand-in that exits or stalls first fails this with its output.
    /// </summary>
    public static async Task<ChDbHttpServerProcess> StartAsync(Dictionary<string, string>? settings = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), "agentstack-chdb-http", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var info = new ProcessStartInfo("dotnet", [ServerAssembly(), "--urls", "http://127.0.0.1:0"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        info.Environment["AgentStack__ChDb__DataPath"] = Path.Combine(directory, "data");
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (key, value) in settings ?? [])
            info.Environment[key] = value;

        var started = Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start");
        var server = new ChDbHttpServerProcess(started, directory);
        started.OutputDataReceived += (_, e) => server.Received(e.Data);
        started.ErrorDataReceived += (_, e) => server.Received(e.Data);
        started.BeginOutputReadLine();
        started.BeginErrorReadLine();
        try
        {
            var baseAddress = await server.WaitForAddressAsync();
            server.Port = baseAddress.Port;
            await ChildProcesses.WaitUntilReadyAsync(started, baseAddress, "/ping", "The chDB HTTP stand-in", () => server.Output);
        }
        catch
        {
            // A stand-in that never got ready must not outlive the test run.
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    private void Received(string? line)
    {
        lock (output)
            output.AppendLine(line);
        if (line is not null && line.StartsWith(ListeningPrefix, StringComparison.Ordinal)
            && Uri.TryCreate(line[ListeningPrefix.Length..].Trim(), UriKind.Absolute, out var announced))
        {
            address.TrySetResult(announced);
        }
    }

    /// <summary>The address the stand-in announces once its engine answers and it listens.</summary>
    private async Task<Uri> WaitForAddressAsync()
    {
        var exited = process.WaitForExitAsync();
        Task first;
        try
        {
            first = await Task.WhenAny(address.Task, exited).WaitAsync(StartTimeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"The chDB HTTP stand-in did not boot its engine and listen within {StartTimeout.TotalSeconds:0} s:\n{Output}");
        }

        if (first == address.Task)
            return await address.Task;

        // Output read after the exit is complete (WaitForExitAsync waits for the redirected streams).
        throw new InvalidOperationException($"The chDB HTTP stand-in exited with {process.ExitCode} before it listened:\n{Output}");
    }

    private static string ServerAssembly() => ChildProcesses.BuiltAssembly("tests/AgentStack.ChDbHttpServer");

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: false);
            await process.WaitForExitAsync();
        }

        process.Dispose();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException) { }
    }
}
