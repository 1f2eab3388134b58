using System.Globalization;
using System.Security.Claims;
using System.Threading.RateLimiting;
using AgentStack.Access;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AgentStack.Hosting.Protecting;

/// <summary>One token bucket: a sustained rate and the burst allowed above it.</summary>
public sealed record RateLimit(int RequestsPerSecond, int Burst);

/// <summary>
/// Per-key and per-project rate limits (issue 17, item 2; docs/administration.md), ASP.NET Core's rate limiter
/// partitioned twice and chained: a request spends a token from its key's bucket and from its project's bucket,
/// for its class of endpoint (<c>ingest</c>: <c>/v1/*</c> and OTLP/gRPC; <c>api</c>: <c>/api/*</c>, reads and
/// administration). Refused requests get 429 with <c>Retry-After</c> and a ProblemDetails naming the limit.
/// Requests without a key are not limited here: authentication refuses them first, and an attacker without
/// a key cannot spend a tenant's budget.
/// <para>
/// Limits come from <c>AgentStack:RateLimits:{Ingest|Api}:{PerKey|PerProject}:{RequestsPerSecond|Burst}</c>,
/// overridden for one project by <c>AgentStack:Projects:{project}:RateLimits:…</c>; 0 requests per second turns a
/// limit off. Defaults are generous (a benchmark's single key must not be throttled); lower them per deployment.
/// </para>
/// </summary>
public static class RateLimits
{
    public static readonly RateLimit DefaultIngestPerKey = new(1000, 2000);
    public static readonly RateLimit DefaultIngestPerProject = new(2000, 4000);
    public static readonly RateLimit DefaultApiPerKey = new(200, 400);
    public static readonly RateLimit DefaultApiPerProject = new(400, 800);

    private const string GrpcTraceService = "/opentelemetry.proto.collector.trace.v1.TraceService";

    public static IServiceCollection AddAgentStackRateLimits(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddRateLimiter(o =>
        {
            o.GlobalLimiter = PartitionedRateLimiter.CreateChained(
                PartitionedRateLimiter.Create<HttpContext, string>(http => Partition(http, configuration, perKey: true)),
                PartitionedRateLimiter.Create<HttpContext, string>(http => Partition(http, configuration, perKey: false)));
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.OnRejected = async (context, ct) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) && wait > TimeSpan.Zero
                    ? wait
                    : TimeSpan.FromSeconds(1);
                var seconds = (int)Math.Ceiling(retryAfter.TotalSeconds);
                var http = context.HttpContext;
                http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                var (endpointClass, project) = (Classify(http.Request.Path) ?? "api", http.User.FindFirstValue(ApiKeyClaims.Project) ?? "");
                var key = Limit(configuration, endpointClass, project, perKey: true);
                var all = Limit(configuration, endpointClass, project, perKey: false);
                await TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many requests",
                    detail: $"The {endpointClass} rate limit of this key ({key.RequestsPerSecond}/s, burst {key.Burst}) or of its project " +
                        $"({all.RequestsPerSecond}/s, burst {all.Burst}) is spent; retry after {seconds} s.",
                    extensions: new Dictionary<string, object?> { ["field"] = "rateLimit", ["retryAfterSeconds"] = seconds })
                    .ExecuteAsync(http);
            };
        });
        return services;
    }

    /// <summary>ingest, api, or null (not limited: health, the dashboard's files, sign-in, OpenAPI).</summary>
    public static string? Classify(PathString path) =>
        path.StartsWithSegments("/v1") || path.StartsWithSegments(GrpcTraceService) ? "ingest"
        : path.StartsWithSegments("/api") ? "api"
        : null;

    public static RateLimit Limit(IConfiguration configuration, string endpointClass, string project, bool perKey)
    {
        var (fallback, section) = (endpointClass, perKey) switch
        {
            ("ingest", true) => (DefaultIngestPerKey, "Ingest:PerKey"),
            ("ingest", false) => (DefaultIngestPerProject, "Ingest:PerProject"),
            (_, true) => (DefaultApiPerKey, "Api:PerKey"),
            _ => (DefaultApiPerProject, "Api:PerProject"),
        };
        var global = Read(configuration.GetSection($"AgentStack:RateLimits:{section}"), fallback);
        return project.Length == 0 ? global : Read(configuration.GetSection($"AgentStack:Projects:{project}:RateLimits:{section}"), global);
    }

    private static RateLimit Read(IConfigurationSection section, RateLimit fallback)
    {
        var rate = section.GetValue<int?>("RequestsPerSecond") ?? fallback.RequestsPerSecond;
        // A rate configured without a burst gets twice the rate, like the defaults.
        var burst = section.GetValue<int?>("Burst") ?? (rate == fallback.RequestsPerSecond ? fallback.Burst : 2 * rate);
        return new RateLimit(rate, Math.Max(burst, rate));
    }

    private static RateLimitPartition<string> Partition(HttpContext http, IConfiguration configuration, bool perKey)
    {
        var endpointClass = Classify(http.Request.Path);
        var project = http.User.FindFirstValue(ApiKeyClaims.Project);
        var keyId = http.User.FindFirstValue(ApiKeyClaims.KeyId);
        if (endpointClass is null || project is null || keyId is null)
            return RateLimitPartition.GetNoLimiter("");
        var limit = Limit(configuration, endpointClass, project, perKey);
        if (limit.RequestsPerSecond <= 0)
            return RateLimitPartition.GetNoLimiter("");
        var partition = perKey ? $"{endpointClass}|{project}|{keyId}" : $"{endpointClass}|{project}";
        return RateLimitPartition.GetTokenBucketLimiter(partition, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = limit.Burst,
            TokensPerPeriod = limit.RequestsPerSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        });
    }
}
