using System.Diagnostics;
using System.Text;

namespace AgentStack.Testing;

/// <summary>
/// The chDB HTTP stand-in for a ClickHouse server (tests/AgentStack.ChDbHttpServer, issue 4) as a real
/// child process on a free loopback port with its own data directory. Several processes (projection
/// workers, a query host) can share it as they would share one ClickHouse server.
/// </summary>
public sealed class ChDbHttpServerProcess : IAsyncDisposable
{
    private readonly StringBuilder output = new();
    private readonly Process process;

    private ChDbHttpServerProcess(Process process, string dataDirectory, int port)
    {
        this.process = process;
        DataDirectory = dataDirectory;
        Port = port;
    }

    public string DataDirectory { get; }
    public int Port { get; }

    /// <summary>A ClickHouse.Driver connection string for this server (the stand-in has no access control).</summary>
    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=default;Password=";
    public string Output { get { lock (output) return output.ToString(); } }

    /// <summary>Starts the stand-in on a new data directory and waits until <c>/ping</c> answers.</summary>
    public static async Task<ChDbHttpServerProcess> StartAsync(Dictionary<string, string>? settings = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), "agentstack-chdb-http", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var port = ChildProcesses.FreePort();
        var info = new ProcessStartInfo("dotnet", [ServerAssembly(), "--urls", $"http://127.0.0.1:{port}"])
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
        var server = new ChDbHttpServerProcess(started, directory, port);
        started.OutputDataReceived += (_, e) => { lock (server.output) server.output.AppendLine(e.Data); };
        started.ErrorDataReceived += (_, e) => { lock (server.output) server.output.AppendLine(e.Data); };
        started.BeginOutputReadLine();
        started.BeginErrorReadLine();
        try
        {
            await server.WaitUntilReadyAsync();
        }
        catch
        {
            // A stand-in that never got ready must not outlive the test run.
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    private Task WaitUntilReadyAsync() =>
        ChildProcesses.WaitUntilReadyAsync(process, new Uri($"http://127.0.0.1:{Port}"), "/ping", "The chDB HTTP stand-in", () => Output);

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
