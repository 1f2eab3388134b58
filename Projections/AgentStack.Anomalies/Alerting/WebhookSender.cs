using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;

namespace AgentStack.Anomalies.Alerting;

/// <summary>Configuration section <c>AgentStack:Alerts</c>.</summary>
public sealed class AlertOptions
{
    public const string Section = "AgentStack:Alerts";

    /// <summary>How many times a webhook is tried before the delivery is given up (and logged).</summary>
    public int MaxAttempts { get; set; } = 6;

    /// <summary>The wait after the first failure; doubled after each further one.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long one webhook request may take.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// POSTs an alert's JSON to a webhook (issue 15, point 7): signed with HMAC-SHA256 of the body under the
/// rule's secret (<c>X-AgentStack-Signature: sha256=&lt;hex&gt;</c>), with the send time
/// (<c>X-AgentStack-Timestamp</c>, Unix seconds) and the alert's id (<c>X-AgentStack-Delivery</c>, the
/// same on every retry, so a receiver can drop repeats). Retries on a network error, a timeout, 408, 429
/// and 5xx, with exponential backoff; another 4xx is final.
/// </summary>
public sealed partial class WebhookSender(HttpClient http, AlertOptions options, TimeProvider clock, ILogger<WebhookSender> logger)
{
    public const string SignatureHeader = "X-AgentStack-Signature";
    public const string TimestampHeader = "X-AgentStack-Timestamp";
    public const string DeliveryHeader = "X-AgentStack-Delivery";

    public static string Sign(string secret, ReadOnlySpan<byte> body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    /// <summary>True once the webhook answered 2xx; false when every attempt failed or it refused for good.</summary>
    public async Task<bool> SendAsync(string url, string? secret, string deliveryId, byte[] body, CancellationToken cancellationToken)
    {
        var backoff = options.InitialBackoff;
        for (var attempt = 1; ; attempt++)
        {
            string failure;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                if (secret is { Length: > 0 })
                    request.Headers.TryAddWithoutValidation(SignatureHeader, Sign(secret, body));
                request.Headers.TryAddWithoutValidation(TimestampHeader,
                    clock.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
                request.Headers.TryAddWithoutValidation(DeliveryHeader, deliveryId);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(options.RequestTimeout);
                using var response = await http.SendAsync(request, timeout.Token);
                if (response.IsSuccessStatusCode)
                    return true;
                var status = (int)response.StatusCode;
                failure = string.Create(CultureInfo.InvariantCulture, $"HTTP {status}");
                if (status is not (408 or 429) && status < 500)
                {
                    LogRefused(logger, deliveryId, url, status);
                    return false;
                }
            }
            catch (Exception e) when (e is HttpRequestException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                failure = e.Message;
            }
            if (attempt >= options.MaxAttempts)
            {
                LogGaveUp(logger, deliveryId, url, attempt, failure);
                return false;
            }
            LogRetrying(logger, deliveryId, url, attempt, failure, backoff);
            await Task.Delay(backoff, clock, cancellationToken);
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, options.MaxBackoff.Ticks));
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alert {Delivery}: webhook {Url} failed (attempt {Attempt}: {Failure}); retrying in {Backoff}")]
    private static partial void LogRetrying(ILogger logger, string delivery, string url, int attempt, string failure, TimeSpan backoff);

    [LoggerMessage(Level = LogLevel.Error, Message = "Alert {Delivery}: webhook {Url} failed {Attempt} times ({Failure}); given up")]
    private static partial void LogGaveUp(ILogger logger, string delivery, string url, int attempt, string failure);

    [LoggerMessage(Level = LogLevel.Error, Message = "Alert {Delivery}: webhook {Url} refused it with HTTP {Status}; not retried")]
    private static partial void LogRefused(ILogger logger, string delivery, string url, int status);
}
