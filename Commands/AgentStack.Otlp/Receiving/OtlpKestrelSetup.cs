using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentStack.Otlp.Receiving;

/// <summary>
/// Adds the OTLP/gRPC endpoint: cleartext HTTP/2 (h2c, as OTLP exporters use against <c>http://host:4317</c>) on
/// <c>AgentStack:Otlp:GrpcPort</c>. Kestrel ignores <c>ASPNETCORE_URLS</c> once any endpoint is configured in code,
/// so the URLs (or <c>ASPNETCORE_HTTP_PORTS</c>/<c>HTTPS_PORTS</c>, or the default http://localhost:5000) are
/// listened on here as well, exactly as Kestrel would have. The gRPC endpoint binds the host of the first URL
/// (loopback stays loopback; <c>*</c>, <c>+</c>, <c>0.0.0.0</c> or a name bind every interface).
/// When the port was not configured and the default 4317 is taken (another collector, another AgentStack), the
/// server still starts and logs a warning instead: a default port must not stop the server; an explicitly
/// configured one fails the start as any endpoint does.
/// </summary>
internal sealed class OtlpKestrelSetup(IConfiguration configuration, IOptions<OtlpOptions> options, ILogger<OtlpKestrelSetup> logger)
    : IConfigureOptions<KestrelServerOptions>, IConfigureOptions<SocketTransportOptions>
{
    public void Configure(KestrelServerOptions kestrel)
    {
        var port = options.Value.GrpcPort;
        if (port <= 0)
            return;
        var urls = Urls();
        foreach (var url in urls)
            Listen(kestrel, url);
        var first = urls[0];
        if (first.IsUnixPipe || first.IsNamedPipe || string.Equals(first.Host, "localhost", StringComparison.OrdinalIgnoreCase))
            kestrel.ListenLocalhost(port, GrpcEndpoint);
        else if (IPAddress.TryParse(first.Host.Trim('[', ']'), out var ip))
            kestrel.Listen(ip, port, GrpcEndpoint);
        else
            kestrel.ListenAnyIP(port, GrpcEndpoint);

        static void GrpcEndpoint(ListenOptions l) => l.Protocols = HttpProtocols.Http2;
    }

    public void Configure(SocketTransportOptions transport)
    {
        var port = options.Value.GrpcPort;
        if (port <= 0 || options.Value.GrpcPortConfigured)
            return;
        var create = transport.CreateBoundListenSocket;
        transport.CreateBoundListenSocket = endpoint =>
        {
            try
            {
                return create(endpoint);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse
                && endpoint is IPEndPoint ip && ip.Port == port)
            {
                logger.LogWarning("OTLP/gRPC is off on {Endpoint}: the default port {Port} is in use. Set AgentStack:Otlp:GrpcPort to a free port (or 0 to turn gRPC off).",
                    endpoint, port);
                // Kestrel needs a bound socket for the endpoint: an ephemeral loopback one nobody is told about.
                return create(new IPEndPoint(IPAddress.Loopback, 0));
            }
        };
    }

    private List<BindingAddress> Urls()
    {
        var urls = new List<string>();
        if (configuration["urls"] is { Length: > 0 } configured)
            urls.AddRange(configured.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        else
        {
            if (configuration["http_ports"] is { Length: > 0 } http)
                urls.AddRange(http.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(p => $"http://*:{p}"));
            if (configuration["https_ports"] is { Length: > 0 } https)
                urls.AddRange(https.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(p => $"https://*:{p}"));
        }
        if (urls.Count == 0)
            urls.Add("http://localhost:5000");
        return urls.Select(BindingAddress.Parse).ToList();
    }

    private static void Listen(KestrelServerOptions kestrel, BindingAddress address)
    {
        var https = string.Equals(address.Scheme, "https", StringComparison.OrdinalIgnoreCase);
        Action<ListenOptions> configure = https ? l => l.UseHttps() : _ => { };
        if (address.IsUnixPipe)
            kestrel.ListenUnixSocket(address.UnixPipePath, configure);
        else if (address.IsNamedPipe)
            kestrel.ListenNamedPipe(address.NamedPipeName, configure);
        else if (string.Equals(address.Host, "localhost", StringComparison.OrdinalIgnoreCase))
            kestrel.ListenLocalhost(address.Port, configure);
        else if (IPAddress.TryParse(address.Host.Trim('[', ']'), out var ip))
            kestrel.Listen(ip, address.Port, configure);
        else
            kestrel.ListenAnyIP(address.Port, configure);
    }
}
