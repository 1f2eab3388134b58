using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AgentStack.Access.SigningIn;

/// <summary>
/// One-time sign-in links for the dashboard (issue 7), as notebook servers print theirs: at start the
/// server logs <c>Dashboard sign-in link: http://host:port/signin?token=…</c>. Only the token's SHA-256
/// is kept, in memory; a token works once and expires (<c>AgentStack:Dashboard:SignInLinkLifetime</c>,
/// default 1 hour). After a link is used a fresh one is printed, so a second browser can sign in too.
/// <c>AgentStack:Dashboard:SignInLink=false</c> turns links off (hosts where users paste a read key);
/// <c>AgentStack:Dashboard:SignInToken</c> fixes the first token (tests), and then no fresh one follows.
/// </summary>
public sealed partial class SignInLinks(IConfiguration configuration, TimeProvider clock, IServer server,
    IHostApplicationLifetime lifetime, ILogger<SignInLinks> logger) : IHostedService
{
    private readonly Lock gate = new();
    private (string Hash, DateTimeOffset Expires)? current;
    private string baseAddress = "http://localhost:5000";

    public bool Enabled => !string.Equals(configuration["AgentStack:Dashboard:SignInLink"], "false", StringComparison.OrdinalIgnoreCase);

    private TimeSpan Lifetime => TimeSpan.TryParse(configuration["AgentStack:Dashboard:SignInLinkLifetime"],
        System.Globalization.CultureInfo.InvariantCulture, out var t) && t > TimeSpan.Zero ? t : TimeSpan.FromHours(1);

    private string? FixedToken => configuration["AgentStack:Dashboard:SignInToken"] is { Length: >= 16 } token ? token : null;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (Enabled)
            lifetime.ApplicationStarted.Register(() => Issue(FixedToken));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Consumes <paramref name="token"/>: true once for the current, unexpired token, false ever after.</summary>
    public bool TryRedeem(string? token)
    {
        if (!Enabled || string.IsNullOrEmpty(token))
            return false;
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(token));
        bool redeemed;
        lock (gate)
        {
            redeemed = current is { } c && clock.GetUtcNow() < c.Expires
                && CryptographicOperations.FixedTimeEquals(hash, Convert.FromHexString(c.Hash));
            if (redeemed)
                current = null;
        }
        if (redeemed && FixedToken is null)
            Issue(null);
        return redeemed;
    }

    private void Issue(string? token)
    {
        token ??= Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var expires = clock.GetUtcNow() + Lifetime;
        lock (gate)
        {
            current = (Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token))), expires);
            baseAddress = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() is { } address
                ? address.Replace("://0.0.0.0", "://localhost", StringComparison.Ordinal).Replace("://[::]", "://localhost", StringComparison.Ordinal)
                    .Replace("://+", "://localhost", StringComparison.Ordinal).Replace("://*", "://localhost", StringComparison.Ordinal)
                : baseAddress;
        }
        LogLink(logger, $"{baseAddress.TrimEnd('/')}/signin?token={Uri.EscapeDataString(token)}", expires);
    }

    // Warning, like the generated bootstrap key: it must show with the quietest default logging.
    [LoggerMessage(Level = LogLevel.Warning, Message = "Dashboard sign-in link: {Link} (works once, until {Expires:u}; or sign in with a project key that has the read scope)")]
    private static partial void LogLink(ILogger logger, string link, DateTimeOffset expires);
}
