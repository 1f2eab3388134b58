using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using AgentStack.Testing;

namespace AgentStack.Otlp.Tests;

/// <summary>
/// AgentStack.Server as a child process with OTLP/gRPC on its own free port (AgentStack__Otlp__GrpcPort) and a
/// 1 MiB body limit, so the oversized cases stay small. One per test class.
/// </summary>
public sealed class OtlpServer : IAsyncLifetime
{
    public const int MaxBodyBytes = 1024 * 1024;

    public ServerProcess Server { get; private set; } = null!;
    public int GrpcPort { get; private set; }
    public Uri HttpTracesEndpoint => new(Server.BaseAddress, "/v1/traces");
    public Uri GrpcEndpoint => new($"http://127.0.0.1:{GrpcPort}");

    public async ValueTask InitializeAsync()
    {
        GrpcPort = FreePort();
        Server = await ServerProcess.StartAsync(new Dictionary<string, string>
        {
            ["AgentStack__Otlp__GrpcPort"] = GrpcPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["AgentStack__Ingest__MaxBodyBytes"] = MaxBodyBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
    }

    /// <summary>The trace as the read API serves it, once the analytics projection has caught up with the log.</summary>
    public async Task<JsonArray> SpansOfAsync(string traceId)
    {
        await Server.WaitForProjectionAsync();
        var trace = await Server.Client.GetFromJsonAsync<JsonObject>(new Uri($"/api/projects/default/traces/{traceId}", UriKind.Relative));
        return trace!["spans"]!.AsArray();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync() => await Server.DisposeAsync();
}
