using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
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
        var port = FreePort();
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

    private async Task WaitUntilReadyAsync()
    {
        using var probe = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{Port}"), Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (process.HasExited)
                throw new InvalidOperationException($"The chDB HTTP stand-in exited with {process.ExitCode}:\n{Output}");
            try
            {
                using var ping = await probe.GetAsync(new Uri("/ping", UriKind.Relative));
                if (ping.IsSuccessStatusCode)
                    return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"The chDB HTTP stand-in did not answer /ping within 60 s:\n{Output}");
            await Task.Delay(100);
        }
    }

    /// <summary>The stand-in built beside the calling test project (same configuration), never copied into it.</summary>
    private static string ServerAssembly()
    {
        var configuration = AppContext.BaseDirectory.Contains("/bin/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "AgentStack.sln")))
            directory = directory.Parent;
        if (directory is null)
            throw new InvalidOperationException("AgentStack.sln not found above " + AppContext.BaseDirectory);
        var path = Path.Combine(directory.FullName, "tests", "AgentStack.ChDbHttpServer", "bin", configuration, "net10.0", "AgentStack.ChDbHttpServer.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException("Build tests/AgentStack.ChDbHttpServer first", path);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

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
