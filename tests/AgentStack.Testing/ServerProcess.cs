using System.Diagnostics;
using Shouldly;
using Xunit;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace AgentStack.Testing;

/// <summary>Which AgentStack host a <see cref="ServerProcess"/> runs (issue 4: three thin hosts and the all-in-one server).</summary>
public enum AgentStackHost
{
    Server,
    Commands,
    Projections,
    Queries,
}

/// <summary>
/// An AgentStack host (the all-in-one server by default) started as a real child process on a free
/// loopback port with its own data directory, so tests go through HTTP exactly as clients do and can
/// kill it with SIGKILL.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    public const string BootstrapKey = "ask_test_bootstrap_key_0123456789";

    private readonly StringBuilder output = new();
    private Process? process;

    private ServerProcess(AgentStackHost host, string dataDirectory, int port)
    {
        Host = host;
        DataDirectory = dataDirectory;
        Port = port;
        BaseAddress = new Uri($"http://127.0.0.1:{port}");
        Client = CreateClient(BootstrapKey);
    }

    public AgentStackHost Host { get; }
    public string DataDirectory { get; }
    public int Port { get; }
    public Uri BaseAddress { get; }
    public HttpClient Client { get; }
    public string Output { get { lock (output) return output.ToString(); } }

    /// <summary>The end of <see cref="Output"/>, for a failure message.</summary>
    public string OutputTail(int characters = 12000) => Tail(Output, characters);

    /// <summary>The last <paramref name="characters"/> of <paramref name="text"/>, or all of it.</summary>
    internal static string Tail(string text, int characters) => text.Length <= characters ? text : text[^characters..];

    /// <summary>The server process's id, for a diagnostics client; 0 before it starts or once it has exited.</summary>
    public int ProcessId => process is { HasExited: false } p ? p.Id : 0;

    /// <summary>The server process's resident memory (VmRSS), in bytes; 0 once it has exited.</summary>
    public long ResidentBytes()
    {
        if (process is not { HasExited: false } p)
            return 0;
        foreach (var line in File.ReadLines($"/proc/{p.Id}/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        return 0;
    }

    /// <summary>The files the server process has mapped (its loaded native libraries and assemblies); empty once it has exited.</summary>
    public IReadOnlySet<string> MappedFiles()
    {
        if (process is not { HasExited: false } p)
            return new HashSet<string>();
        // Each line of /proc/PID/maps ends with the mapped path, after five fields (address, perms, offset, dev, inode).
        return File.ReadLines($"/proc/{p.Id}/maps")
            .Select(line => line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length == 6 && fields[5].StartsWith('/'))
            .Select(fields => fields[5].Trim())
            .ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>
    /// What the process reads on standard input: by default the test host's own; with <see cref="StartAsync"/>'s
    /// <c>standardInput</c>, a pipe holding that text, left open for the life of the process.
    /// </summary>
    private string? standardInput;

    /// <summary>Starts a host on a new, empty data directory and waits until it is ready.</summary>
    /// <param name="standardInput">When given, the process's standard input is a pipe holding this text and never closed.</param>
    public static async Task<ServerProcess> StartAsync(Dictionary<string, string>? settings = null,
        AgentStackHost host = AgentStackHost.Server, string? standardInput = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            var directory = Path.Combine(Path.GetTempPath(), "agentstack-e2e", Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(directory);
            var server = new ServerProcess(host, directory, ChildProcesses.FreePort()) { standardInput = standardInput };
            try
            {
                await server.StartProcessAsync(settings);
                return server;
            }
            catch (PortTakenException) when (attempt < 3)
            {
                // Another test's server bound the port between FreePort and this one's start: a new port, a new start.
                await server.DisposeAsync();
            }
            catch
            {
                // A server that never got ready must not outlive the test (it would keep consuming shared queues).
                await server.DisposeAsync();
                throw;
            }
        }
    }

    public HttpClient CreateClient(string key)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    /// <summary>Kills the process with SIGKILL: no shutdown code runs.</summary>
    public async Task KillAsync()
    {
        if (process is { HasExited: false })
        {
            process.Kill(entireProcessTree: false);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>Starts the server again on the same data directory and port.</summary>
    public Task RestartAsync(Dictionary<string, string>? settings = null) => StartProcessAsync(settings);

    public async Task StopAsync()
    {
        if (process is { HasExited: false })
        {
            // SIGTERM: the graceful path (ASP.NET's host shuts down on it).
            using var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    /// <summary>Waits until the analytics projection has applied the whole log as it is now.</summary>
    public async Task WaitForProjectionAsync()
    {
        using var response = await Client.GetAsync(new Uri("/api/projections/analytics/wait?timeoutSeconds=60", UriKind.Relative));
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    public async Task<long> LogPositionAsync()
    {
        var status = await Client.GetFromJsonAsync<JsonObject>(new Uri("/api/projections", UriKind.Relative));
        return status!["logPosition"]!.GetValue<long>();
    }

    private async Task StartProcessAsync(Dictionary<string, string>? settings)
    {
        var info = new ProcessStartInfo("dotnet", [HostAssembly(Host)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = standardInput is not null,
            UseShellExecute = false,
            WorkingDirectory = DataDirectory,
        };
        info.Environment["ASPNETCORE_URLS"] = BaseAddress.ToString().TrimEnd('/');
        info.Environment["AgentStack__DataDirectory"] = DataDirectory;
        info.Environment["AgentStack__BootstrapApiKey"] = BootstrapKey;
        // Tests poll reads (projection waits, progress) far faster than a person does: the read-side rate limits
        // are off unless a test sets them, as are the ingest limits under the load and fault tests (the protection tests set their own).
        info.Environment["AgentStack__RateLimits__Api__PerKey__RequestsPerSecond"] = "0";
        info.Environment["AgentStack__RateLimits__Api__PerProject__RequestsPerSecond"] = "0";
        info.Environment["AgentStack__RateLimits__Ingest__PerKey__RequestsPerSecond"] = "0";
        info.Environment["AgentStack__RateLimits__Ingest__PerProject__RequestsPerSecond"] = "0";
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        // Parallel test servers must not reach for the OTLP gRPC default port 4317; tests that use gRPC set one.
        info.Environment["AgentStack__Otlp__GrpcPort"] = "0";
        foreach (var (key, value) in settings ?? [])
            info.Environment[key] = value;

        process = Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start");
        process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (standardInput is not null)
        {
            await process.StandardInput.WriteAsync(standardInput);
            await process.StandardInput.FlushAsync();
        }

        // Readiness is the condition: /health/ready answers 200 (or the process dies, or 60 s pass).
        await ChildProcesses.WaitUntilReadyAsync(process, BaseAddress, "/health/ready", Host.ToString(), () => Output);
    }

    private static string HostAssembly(AgentStackHost host) => ChildProcesses.BuiltAssembly(host switch
    {
        AgentStackHost.Commands => "Commands/AgentStack.Commands.Host",
        AgentStackHost.Projections => "Projections/AgentStack.Projections.Host",
        AgentStackHost.Queries => "Queries/AgentStack.Queries.Host",
        _ => "Queries/AgentStack.Server",
    });

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        process?.Dispose();
        Client.Dispose();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException) { }
    }
}

/// <summary>One server per test class (xUnit class fixture).</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public ServerProcess Server { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Server = await ServerProcess.StartAsync();

    public async ValueTask DisposeAsync() => await Server.DisposeAsync();
}
