using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using AgentStack.Testing;
using static AgentStack.Testing.Spans;

namespace AgentStack.EndToEndTests.Isolation;

/// <summary>
/// Issue 17, item 4: the isolation matrix. Every endpoint of the server's OpenAPI document × {no key, malformed
/// key, revoked key, expired key, another project's key, a key lacking the scope} gets the right 401/403/404 and
/// no byte of project A's data (its display name, span names, payloads, key prefixes) in any answer. The
/// endpoints come from the document, the rules from <see cref="EndpointRules"/>: an endpoint without a rule
/// fails the test. gRPC methods are not in the document: <see cref="when_every_grpc_method_meets_every_kind_of_key"/>.
/// </summary>
public sealed class when_every_endpoint_meets_every_kind_of_key(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private enum Caller { NoKey, MalformedKey, RevokedKey, ExpiredKey, OtherProjectKey, KeyLackingTheScope }

    private ServerProcess Server => fixture.Server;

    private static Uri Path(string path) => new(path, UriKind.Relative);

    [Fact]
    public async Task then_each_gets_the_right_refusal_and_no_byte_of_another_projects_data()
    {
        var marker = NewId()[..12];
        var a = await IsolationKeys.ProjectAsync(Server, "iso-a-" + marker);
        var b = await IsolationKeys.ProjectAsync(Server, "iso-b-" + marker);
        using var aAdmin = Server.CreateClient(a.Secret);

        // Project A's data, every piece a canary that must never show to anyone but A's own keys.
        var displayCanary = "display-canary-" + marker;
        var spanCanary = "span-canary-" + marker;
        var payloadCanary = "payload-canary-" + marker;
        (await aAdmin.PatchAsJsonAsync(Path($"/api/projects/{a.Project}"), new { displayName = displayCanary })).EnsureSuccessStatusCode();
        var traceId = NewId();
        (await aAdmin.PostSpansAsync(Batch(Span(traceId, "s1", name: spanCanary, end: DateTimeOffset.UtcNow,
            input: $"\"{payloadCanary}\"", output: $"\"{payloadCanary}\"")))).EnsureSuccessStatusCode();
        await Server.WaitForProjectionAsync();

        var (revoked, expired, lacking) = await IsolationKeys.RefusedKeysAsync(Server, aAdmin, a.Project);
        var victim = await IsolationKeys.KeyAsync(aAdmin, a.Project, ["read"], null);
        var canaries = new[] { displayCanary, spanCanary, payloadCanary, victim.Secret[..12], lacking[Requires.Read].Secret[..12] };

        // The endpoint table as the server publishes it.
        var document = (await Server.Client.GetFromJsonAsync<JsonObject>(Path("/openapi/v1.json")))!;
        var endpoints = document["paths"]!.AsObject()
            .SelectMany(p => p.Value!.AsObject().Select(m => $"{m.Key.ToUpperInvariant()} {p.Key}"))
            .Where(e => !e.StartsWith("PARAMETERS ", StringComparison.Ordinal))
            .ToList();
        var rules = EndpointRules.All.ToDictionary(r => r.Key, StringComparer.Ordinal);
        var missing = endpoints.Where(e => !rules.ContainsKey(e)).ToList();
        missing.ShouldBeEmpty(
            "these endpoints of /openapi/v1.json have no isolation rule. Add one row per endpoint to EndpointRules.All in " +
            "tests/AgentStack.EndToEndTests/Isolation/EndpointRules.cs, e.g.\n" + string.Join("\n", missing.Select(Suggest)));
        var stale = rules.Keys.Except(endpoints, StringComparer.Ordinal).ToList();
        stale.ShouldBeEmpty("these rows of EndpointRules.All name no endpoint the server describes: remove or correct them");

        var values = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["project"] = a.Project, ["traceId"] = traceId, ["keyId"] = victim.KeyId, ["name"] = "analytics",
        };
        var secrets = new Dictionary<Caller, string?>
        {
            [Caller.NoKey] = null, [Caller.RevokedKey] = revoked.Secret, [Caller.ExpiredKey] = expired.Secret,
            [Caller.OtherProjectKey] = b.Secret,
        };
        var (cases, serverErrors, failures) = (0, 0, new List<string>());
        foreach (var endpoint in endpoints)
        {
            var rule = rules[endpoint];
            var url = EndpointRules.Fill(rule.Route, values) + (rule.Route.EndsWith("/wait", StringComparison.Ordinal) ? "?timeoutSeconds=1" : "");
            foreach (var caller in Enum.GetValues<Caller>())
            {
                if (caller == Caller.KeyLackingTheScope && rule.Requires == Requires.Anyone)
                    continue;
                var secret = caller switch
                {
                    Caller.MalformedKey => "!!not a key!!",
                    Caller.KeyLackingTheScope => lacking[rule.Requires].Secret,
                    _ => secrets[caller],
                };
                using var request = new HttpRequestMessage(new HttpMethod(rule.Method), Path(url));
                if (secret is not null)
                    request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + secret);
                if (rule.Method is "POST" or "PUT" or "PATCH")
                    request.Content = Body(rule.Route);
                using var client = new HttpClient { BaseAddress = Server.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
                using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);
                var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
                var headers = response.Headers.ToString() + response.Content.Headers;
                cases++;
                var status = (int)response.StatusCode;
                if (status >= 500)
                    serverErrors++;
                var expected = Expected(rule, caller);
                var label = $"{endpoint} as {caller}";
                if (expected is { } code && status != code)
                    failures.Add($"{label}: {status}, expected {code}: {Short(text)}");
                if (status >= 500)
                    failures.Add($"{label}: {status} {Short(text)}");
                foreach (var canary in canaries)
                    if (text.Contains(canary, StringComparison.Ordinal) || headers.Contains(canary, StringComparison.Ordinal))
                        failures.Add($"{label}: the answer holds project A's data '{canary}'");
                // A's name may only come back where the caller put it in the URL.
                if (!url.Contains(a.Project, StringComparison.Ordinal) && text.Contains(a.Project, StringComparison.Ordinal))
                    failures.Add($"{label}: the answer names project A");
            }
        }

        // The victim key survived every refused revocation and rotation.
        using (var victimClient = Server.CreateClient(victim.Secret))
            (await victimClient.GetAsync(Path($"/api/projects/{a.Project}/traces/{traceId}"))).StatusCode.ShouldBe(HttpStatusCode.OK);

        var summary = $"isolation matrix: {endpoints.Count} endpoints, {cases} cases run, 5xx seen = {serverErrors}, failures = {failures.Count}";
        TestReport.Write("isolation", summary);
        failures.ShouldBeEmpty(summary);
        serverErrors.ShouldBe(0);
        cases.ShouldBeGreaterThan(endpoints.Count * 5);
    }

    [Fact]
    public async Task then_a_bad_sign_in_link_opens_no_session()
    {
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false, CheckCertificateRevocationList = true }) { BaseAddress = Server.BaseAddress };
        foreach (var url in new[] { "/signin", "/signin?token=", "/signin?token=not-a-token", "/signin?token=" + ServerProcess.BootstrapKey })
        {
            using var response = await client.GetAsync(Path(url));
            response.StatusCode.ShouldBe(HttpStatusCode.Redirect, url);
            response.Headers.Location!.ToString().ShouldBe("/login?error=link", url);
            response.Headers.Contains("Set-Cookie").ShouldBeFalse(url);
        }
    }

    private static int? Expected(EndpointRule rule, Caller caller) => (rule.Requires, rule.Reach, caller) switch
    {
        (Requires.Anyone, _, _) => null,
        (_, _, Caller.NoKey or Caller.MalformedKey or Caller.RevokedKey or Caller.ExpiredKey) => 401,
        (_, _, Caller.KeyLackingTheScope) => 403,
        (Requires.Operator, _, Caller.OtherProjectKey) => 403,
        (_, Reach.Project, Caller.OtherProjectKey) => 404,
        _ => null, // another project's key on a route of its own: served, and checked for leaks only
    };

    private static HttpContent Body(string route) => route switch
    {
        "/v1/spans" => Json(Batch(Span(NewId(), "s1", end: DateTimeOffset.UtcNow))),
        "/v1/traces" => Json("""{"resourceSpans":[]}"""),
        _ => new StringContent("{}", Encoding.UTF8, new MediaTypeHeaderValue("application/json")),
    };

    private static string Suggest(string endpoint)
    {
        var space = endpoint.IndexOf(' ', StringComparison.Ordinal);
        var (method, route) = (endpoint[..space], endpoint[(space + 1)..]);
        var reach = route.StartsWith("/api/projects/{project}", StringComparison.Ordinal) ? "Reach.Project" : "Reach.Own";
        return $"    new(\"{method}\", \"{route}\", Requires.Read /* or Ingest, Admin, Operator, Anyone */, {reach}),";
    }

    private static string Short(string text) => text.Length <= 300 ? text : text[..300] + "…";
}
