using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace AgentStack.Testing;

/// <summary>What every test-started process needs: a free port, its assembly built in this repository, and a readiness wait.</summary>
public static class ChildProcesses
{
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// <paramref name="project"/>'s assembly built beside the calling test project (same configuration),
    /// never copied into it. <paramref name="project"/> is the project folder relative to the repository root.
    /// </summary>
    public static string BuiltAssembly(string project)
    {
        var configuration = AppContext.BaseDirectory.Contains("/bin/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "AgentStack.sln")))
            directory = directory.Parent;
        if (directory is null)
            throw new InvalidOperationException("AgentStack.sln not found above " + AppContext.BaseDirectory);
        var name = Path.GetFileName(project);
        var path = Path.Combine(directory.FullName, project, "bin", configuration, "net10.0", name + ".dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"Build {project} first", path);
    }

    /// <summary>Polls <paramref name="path"/> until it answers 2xx, the process dies, or 60 s pass.</summary>
    public static async Task WaitUntilReadyAsync(Process process, Uri baseAddress, string path, string what, Func<string> output)
    {
        using var probe = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (process.HasExited)
                throw new InvalidOperationException($"{what} exited with {process.ExitCode}:\n{output()}");
            try
            {
                using var ready = await probe.GetAsync(new Uri(path, UriKind.Relative));
                if (ready.IsSuccessStatusCode)
                    return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{what} was not ready ({path}) within 60 s:\n{output()}");
            await Task.Delay(100);
        }
    }
}
