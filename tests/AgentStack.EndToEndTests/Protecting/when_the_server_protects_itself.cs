using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AgentStack.Testing;
using static AgentStack.Testing.Spans;

namespace AgentStack.EndToEndTests.Protecting;

/// <summary>A server with small ingestion limits, a configured pepper and one allowed dashboard origin.</summary>
public sealed class ProtectedServerFixture : IAsyncLifetime
{
    public const string Pepper = "pepper-for-the-protection-tests-0123456789";
    public const string DashboardOrigin = "https://dashboard.example.test";

    public ServerProcess Server { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Server = await ServerProcess.StartAsync(new Dictionary<string, string>
    {
        ["AgentStack__RateLimits__Ingest__PerKey__RequestsPerSecond"] = "3",
        ["AgentStack__RateLimits__Ingest__PerKey__Burst"] = "3",
        ["AgentStack__RateLimits__Ingest__PerProject__RequestsPerSecond"] = "5",
        ["AgentStack__RateLimits__Ingest__PerProject__Burst"] = "5",
        // The operator's own project is not throttled in these tests.
        ["AgentStack__Projects__default__RateLimits__Ingest__PerKey__RequestsPerSecond"] = "0",
        ["AgentStack__Projects__default__RateLimits__Ingest__PerProject__RequestsPerSecond"] = "0",
        ["AgentStack__Access__Pepper"] = Pepper,
        ["AgentStack__Dashboard__Origins__0"] = DashboardOrigin,
        // Everything the server would log, so the secrets test sees it all.
        ["Logging__LogLevel__Default"] = "Debug",
    });

    public async ValueTask DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>
/// Issue 17, item 2: per-key and per-project rate limits answer 429 with Retry-After; security headers, no
/// server banner, CORS only for the dashboard's origin; and no secret ever reaches the server's logs.
/// </summary>
public sealed class when_the_server_protects_itself(ProtectedServerFixture fixture) : IClassFixture<ProtectedServerFixture>
{
    private ServerProcess Server => fixture.Server;

    private static Uri Path(string path) => new(path, UriKind.Relative);

    private async Task<(string Project, string Secret)> NewProjectAsync()
    {
        var name = "prot-" + NewId()[..10];
        using var response = await Server.Client.PostAsJsonAsync(Path("/api/projects"), new { name });
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (name, (await response.Content.ReadFromJsonAsync<JsonObject>())!["secret"]!.GetValue<string>());
    }

    private async Task<string> NewKeyAsync(string project, string adminSecret)
    {
        using var admin = Server.CreateClient(adminSecret);
        using var response = await admin.PostAsJsonAsync(Path($"/api/projects/{project}/keys"), new { scopes = new[] { "ingest" } });
        response.StatusCode.ShouldBe(HttpStatusCode.Created);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["secret"]!.GetValue<string>();
    }

    [Fact]
    public async Task then_a_key_over_its_limit_gets_429_with_retry_after_and_others_are_not_held_back()
    {
        var (project, secret) = await NewProjectAsync();
        var (_, otherSecret) = await NewProjectAsync();
        using var client = Server.CreateClient(secret);

        HttpResponseMessage? refused = null;
        var accepted = 0;
        for (var i = 0; i < 20 && refused is null; i++)
        {
            var response = await client.PostSpansAsync(Batch(Span(NewId(), "s1", end: DateTimeOffset.UtcNow)));
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
                refused = response;
            else
            {
                response.StatusCode.ShouldBe(HttpStatusCode.OK);
                accepted++;
                response.Dispose();
            }
        }

        using (refused.ShouldNotBeNull("20 requests at once against a burst of 3"))
        {
            accepted.ShouldBeGreaterThanOrEqualTo(3);
            refused.Headers.RetryAfter.ShouldNotBeNull().Delta.ShouldNotBeNull().ShouldBeGreaterThanOrEqualTo(TimeSpan.FromSeconds(1));
            var problem = (await refused.Content.ReadFromJsonAsync<JsonObject>())!;
            problem["status"]!.GetValue<int>().ShouldBe(429);
            problem["detail"]!.GetValue<string>().ShouldContain("ingest rate limit");
            problem["detail"]!.GetValue<string>().ShouldNotContain(project);
        }

        // Another project's key has its own buckets; the operator's project has no limit here.
        using var other = Server.CreateClient(otherSecret);
        (await other.PostSpansAsync(Batch(Span(NewId(), "s1", end: DateTimeOffset.UtcNow)))).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await Server.Client.PostSpansAsync(Batch(Span(NewId(), "s1", end: DateTimeOffset.UtcNow)))).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task then_the_keys_of_one_project_share_its_project_limit()
    {
        var (project, admin) = await NewProjectAsync();
        var keys = new List<HttpClient>();
        for (var i = 0; i < 3; i++)
            keys.Add(Server.CreateClient(await NewKeyAsync(project, admin)));

        // Three keys within their own burst of 3 send 9 requests at once, but the project allows a burst of 5.
        var bodies = Enumerable.Range(0, 9).Select(_ => Batch(Span(NewId(), "s1", end: DateTimeOffset.UtcNow))).ToList();
        var statuses = await Task.WhenAll(bodies.Select(async (body, i) =>
        {
            using var response = await keys[i % 3].PostSpansAsync(body);
            return response.StatusCode;
        }));
        foreach (var key in keys)
            key.Dispose();

        statuses.Count(s => s == HttpStatusCode.TooManyRequests).ShouldBeGreaterThan(0, string.Join(", ", statuses));
        statuses.ShouldAllBe(s => s == HttpStatusCode.OK || s == HttpStatusCode.TooManyRequests);
    }

    [Fact]
    public async Task then_answers_carry_security_headers_and_no_server_banner()
    {
        using var page = await Server.Client.GetAsync(Path("/"));
        page.Headers.Contains("Server").ShouldBeFalse();
        page.Headers.GetValues("Content-Security-Policy").Single().ShouldContain("default-src 'self'");
        page.Headers.GetValues("Content-Security-Policy").Single().ShouldContain("frame-ancestors 'none'");
        page.Headers.GetValues("X-Content-Type-Options").Single().ShouldBe("nosniff");
        // HSTS only on HTTPS: on this plain-HTTP loopback it must not appear.
        page.Headers.Contains("Strict-Transport-Security").ShouldBeFalse();

        using var api = await Server.Client.GetAsync(Path("/api/projects"));
        api.Headers.Contains("Server").ShouldBeFalse();
        api.Headers.GetValues("X-Content-Type-Options").Single().ShouldBe("nosniff");
    }

    [Fact]
    public async Task then_cross_origin_requests_are_allowed_only_from_the_dashboard_origin()
    {
        foreach (var (origin, allowed) in new[] { (ProtectedServerFixture.DashboardOrigin, true), ("https://evil.example.test", false) })
        {
            using var preflight = new HttpRequestMessage(HttpMethod.Options, Path("/api/projects/default/traces"));
            preflight.Headers.Add("Origin", origin);
            preflight.Headers.Add("Access-Control-Request-Method", "GET");
            preflight.Headers.Add("Access-Control-Request-Headers", "authorization");
            using var response = await Server.Client.SendAsync(preflight);
            if (allowed)
                response.Headers.GetValues("Access-Control-Allow-Origin").Single().ShouldBe(origin);
            else
                response.Headers.Contains("Access-Control-Allow-Origin").ShouldBeFalse(origin);
        }
    }

    [Fact]
    public async Task then_no_secret_it_was_given_or_gave_out_appears_in_its_logs()
    {
        // A full round: create, issue, ingest, read, rotate, revoke, fail to authenticate; then read the logs.
        var (project, admin) = await NewProjectAsync();
        var key = await NewKeyAsync(project, admin);
        using var adminClient = Server.CreateClient(admin);
        using var rotate = await adminClient.PostAsJsonAsync(Path($"/api/projects/{project}/keys/{(await KeyIdAsync(adminClient, project, key))}/rotate"), new { });
        var rotated = (await rotate.Content.ReadFromJsonAsync<JsonObject>())!["secret"]!.GetValue<string>();
        using (var ingest = Server.CreateClient(key))
            await ingest.PostSpansAsync(Batch(Span(NewId(), "s1", end: DateTimeOffset.UtcNow)));
        await adminClient.GetAsync(Path($"/api/projects/{project}/traces"));
        const string wrong = "ask_a_wrong_key_that_must_not_be_logged_000";
        using (var bad = Server.CreateClient(wrong))
            (await bad.GetAsync(Path($"/api/projects/{project}/traces"))).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);

        var logs = Server.Output;
        logs.Length.ShouldBeGreaterThan(0);
        foreach (var secret in new[] { ServerProcess.BootstrapKey, admin, key, rotated, wrong, ProtectedServerFixture.Pepper })
        {
            logs.ShouldNotContain(secret, Case.Sensitive, "a secret in the server's logs");
            logs.ShouldNotContain(secret[8..], Case.Sensitive, "part of a secret in the server's logs");
        }
    }

    private static async Task<string> KeyIdAsync(HttpClient admin, string project, string secret)
    {
        var keys = await admin.GetFromJsonAsync<JsonArray>(Path($"/api/projects/{project}/keys"));
        return keys!.Single(k => k!["prefix"]!.GetValue<string>() == secret[..12])!["keyId"]!.GetValue<string>();
    }
}
