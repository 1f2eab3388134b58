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

    /// <summary>Whether <paramref name="process"/> holds the socket listening on <paramref name="port"/> (Linux: /proc).</summary>
    public static bool Listens(Process process, int port)
    {
        var listeners = new HashSet<string>(StringComparer.Ordinal);
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            if (!File.Exists(table))
                continue;
            // "sl local_address rem_address st ... inode": the local address is HEXIP:HEXPORT, 0A is LISTEN, the inode is the 10th field.
            foreach (var line in File.ReadLines(table).Skip(1))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length > 9 && fields[3] == "0A"
                    && int.Parse(fields[1][(fields[1].LastIndexOf(':') + 1)..], System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture) == port)
                    listeners.Add($"socket:[{fields[9]}]");
            }
        }
        try
        {
            return Directory.EnumerateFileSystemEntries($"/proc/{process.Id}/fd").Any(fd => listeners.Contains(LinkTarget(fd) ?? ""));
        }
        catch (DirectoryNotFoundException)
        {
            return false; // the process exited meanwhile
        }

        // A descriptor closed between the listing and the read is not the listener.
        static string? LinkTarget(string fd)
        {
            try
            {
                return new FileInfo(fd).LinkTarget;
            }
            catch (IOException)
            {
                return null;
            }
        }
    }

    /// <summary>Polls <paramref name="path"/> until it answers 2xx, the process dies, or 60 s pass.</summary>
    public static async Task WaitUntilReadyAsync(Process process, Uri baseAddress, string path, string what, Func<string> output)
    {
        using var probe = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (process.HasExited)
                throw output().Contains("address already in use", StringComparison.OrdinalIgnoreCase)
                    ? new PortTakenException($"{what} could not bind {baseAddress}: another process took the port.\n{output()}")
                    : new InvalidOperationException($"{what} exited with {process.ExitCode}:\n{output()}");
            try
            {
                using var ready = await probe.GetAsync(new Uri(path, UriKind.Relative));
                if (ready.IsSuccessStatusCode)
                {
                    // A free port is free only when it is asked for: a server started in parallel may have bound it
                    // first, and then it answers the probe, and the test, in this process's place.
                    if (OperatingSystem.IsLinux() && !process.HasExited && !Listens(process, baseAddress.Port))
                        throw new PortTakenException($"{what}: port {baseAddress.Port} answers, but another process listens on it.\n{output()}");
                    return;
                }
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{what} was not ready ({path}) within 60 s:\n{output()}");
            await Task.Delay(100);
        }
    }
}

/// <summary>The port a test process was started on turned out to belong to another process; start again on a new one.</summary>
public sealed class PortTakenException(string message) : Exception(message);
