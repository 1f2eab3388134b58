using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AgentStack.Testing;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Reflection.V1Alpha;
using static AgentStack.Testing.Spans;

namespace AgentStack.EndToEndTests.Isolation;

/// <summary>A server with OTLP/gRPC on a free port of its own.</summary>
public sealed class GrpcServerFixture : IAsyncLifetime
{
    public ServerProcess Server { get; private set; } = null!;
    public int GrpcPort { get; private set; }

    public async ValueTask InitializeAsync()
    {
        GrpcPort = ChildProcesses.FreePort();
        Server = await ServerProcess.StartAsync(new Dictionary<string, string>
        {
            ["AgentStack__Otlp__GrpcPort"] = GrpcPort.ToString(CultureInfo.InvariantCulture),
        });
    }

    public async ValueTask DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>
/// Issue 17, item 4, for gRPC: the OpenAPI document does not hold gRPC methods, so their list comes from the server's
/// gRPC server reflection (every service it maps, <c>OtlpRegistration</c>), each method's rule from
/// <see cref="EndpointRules.Grpc"/>: a gRPC method without a rule fails the test. Every unary method × {no key,
/// malformed key, revoked key, expired key, another project's key, a key lacking the scope} gets UNAUTHENTICATED or
/// PERMISSION_DENIED (another project's key is served in its own project), never INTERNAL or UNKNOWN, and no byte of
/// project A's data in the status or the trailers.
/// </summary>
public sealed class when_every_grpc_method_meets_every_kind_of_key(GrpcServerFixture fixture) : IClassFixture<GrpcServerFixture>
{
    private enum Caller { NoKey, MalformedKey, RevokedKey, ExpiredKey, OtherProjectKey, KeyLackingTheScope }

    private ServerProcess Server => fixture.Server;

    private static Uri Path(string path) => new(path, UriKind.Relative);

    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(b => b, b => b);

    [Fact]
    public async Task then_each_gets_the_right_status_and_no_byte_of_another_projects_data()
    {
        var marker = NewId()[..12];
        var a = await IsolationKeys.ProjectAsync(Server, "grpc-a-" + marker);
        var b = await IsolationKeys.ProjectAsync(Server, "grpc-b-" + marker);
        using var aAdmin = Server.CreateClient(a.Secret);
        var displayCanary = "display-canary-" + marker;
        var spanCanary = "span-canary-" + marker;
        (await aAdmin.PatchAsJsonAsync(Path($"/api/projects/{a.Project}"), new { displayName = displayCanary })).EnsureSuccessStatusCode();
        (await aAdmin.PostSpansAsync(Batch(Span(NewId(), "s1", name: spanCanary, end: DateTimeOffset.UtcNow,
            input: $"\"{spanCanary}\"")))).EnsureSuccessStatusCode();

        var (revoked, expired, lacking) = await IsolationKeys.RefusedKeysAsync(Server, aAdmin, a.Project);
        var canaries = new[] { displayCanary, spanCanary, a.Secret[..12], lacking[Requires.Read].Secret[..12] };

        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{fixture.GrpcPort}");
        Dictionary<string, bool> methods;
        try
        {
            methods = await MethodsAsync(channel);
        }
        catch (RpcException e)
        {
            throw new InvalidOperationException($"gRPC server reflection failed: {e.Status}. Server output:\n{Server.Output[^Math.Min(Server.Output.Length, 4000)..]}", e);
        }
        var rules = EndpointRules.Grpc.ToDictionary(r => r.Route, StringComparer.Ordinal);
        var missing = methods.Keys.Where(m => !rules.ContainsKey(m)).ToList();
        missing.ShouldBeEmpty(
            "these gRPC methods the server maps (gRPC reflection) have no isolation rule. Add one row per method to " +
            "EndpointRules.Grpc in tests/AgentStack.EndToEndTests/Isolation/EndpointRules.cs, e.g.\n" +
            string.Join("\n", missing.Select(m => $"    new(\"GRPC\", \"{m}\", Requires.Ingest /* or Read, Admin, Operator, Anyone */, Reach.Own),")));
        var stale = rules.Keys.Except(methods.Keys, StringComparer.Ordinal).ToList();
        stale.ShouldBeEmpty("these rows of EndpointRules.Grpc name no gRPC method the server maps: remove or correct them");

        var secrets = new Dictionary<Caller, string?>
        {
            [Caller.NoKey] = null, [Caller.MalformedKey] = "!!not a key!!", [Caller.RevokedKey] = revoked.Secret,
            [Caller.ExpiredKey] = expired.Secret, [Caller.OtherProjectKey] = b.Secret,
        };
        var invoker = channel.CreateCallInvoker();
        var (cases, serverErrors, failures) = (0, 0, new List<string>());
        foreach (var (route, unary) in methods)
        {
            var rule = rules[route];
            if (rule.Requires == Requires.Anyone)
                continue; // served to anyone (server reflection): listed, nothing of a project's to refuse
            unary.ShouldBeTrue($"{route}: only unary methods need a key today; a streaming one needs a case here");
            var parts = route.TrimStart('/').Split('/');
            var method = new Method<byte[], byte[]>(MethodType.Unary, parts[0], parts[1], Bytes, Bytes);
            foreach (var caller in Enum.GetValues<Caller>())
            {
                var secret = caller == Caller.KeyLackingTheScope ? lacking[rule.Requires].Secret : secrets[caller];
                var headers = new Metadata();
                if (secret is not null)
                    headers.Add("authorization", "Bearer " + secret);
                StatusCode code;
                string text;
                try
                {
                    // An empty message: a valid request of any protobuf type, refused or served on its merits.
                    var call = invoker.AsyncUnaryCall(method, null, new CallOptions(headers, DateTime.UtcNow.AddSeconds(60)), []);
                    await call.ResponseAsync;
                    (code, text) = (StatusCode.OK, call.GetTrailers().ToString() ?? "");
                }
                catch (RpcException e)
                {
                    (code, text) = (e.StatusCode, e.Status.Detail + " " + string.Join(";", e.Trailers.Select(t => $"{t.Key}={t.Value}")));
                }
                cases++;
                var label = $"{route} as {caller}";
                if (code is StatusCode.Internal or StatusCode.Unknown or StatusCode.DataLoss)
                {
                    serverErrors++;
                    failures.Add($"{label}: {code} {text}");
                }
                var expected = (rule.Reach, caller) switch
                {
                    (_, Caller.NoKey or Caller.MalformedKey or Caller.RevokedKey or Caller.ExpiredKey) => StatusCode.Unauthenticated,
                    (_, Caller.KeyLackingTheScope) => StatusCode.PermissionDenied,
                    (_, Caller.OtherProjectKey) when rule.Requires == Requires.Operator => StatusCode.PermissionDenied,
                    (Reach.Project, Caller.OtherProjectKey) => StatusCode.NotFound,
                    _ => (StatusCode?)null, // another project's key in its own project: served, checked for leaks only
                };
                if (expected is { } want && code != want)
                    failures.Add($"{label}: {code}, expected {want}: {text}");
                foreach (var canary in canaries)
                    if (text.Contains(canary, StringComparison.Ordinal))
                        failures.Add($"{label}: the answer holds project A's data '{canary}'");
                if (text.Contains(a.Project, StringComparison.Ordinal))
                    failures.Add($"{label}: the answer names project A");
            }
        }

        var summary = $"grpc isolation matrix: {methods.Count} methods, {cases} cases run, INTERNAL/UNKNOWN seen = {serverErrors}, failures = {failures.Count}";
        TestReport.Write("isolation-grpc", summary);
        failures.ShouldBeEmpty(summary);
        cases.ShouldBeGreaterThanOrEqualTo(6, "at least TraceService/Export against every caller");
    }

    /// <summary>Every method of every service the server lists, as <c>/package.Service/Method</c> → unary or not.</summary>
    private static async Task<Dictionary<string, bool>> MethodsAsync(GrpcChannel channel)
    {
        var client = new ServerReflection.ServerReflectionClient(channel);
        using var call = client.ServerReflectionInfo(deadline: DateTime.UtcNow.AddSeconds(30));
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        (await call.ResponseStream.MoveNext()).ShouldBeTrue("gRPC server reflection answers");
        var services = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        services.ShouldNotBeEmpty();

        var methods = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var service in services)
        {
            await call.RequestStream.WriteAsync(new ServerReflectionRequest { FileContainingSymbol = service });
            (await call.ResponseStream.MoveNext()).ShouldBeTrue();
            var response = call.ResponseStream.Current;
            response.ErrorResponse.ShouldBeNull($"reflection of {service}: {response.ErrorResponse?.ErrorMessage}");
            var files = response.FileDescriptorResponse.FileDescriptorProto.Select(FileDescriptorProto.Parser.ParseFrom);
            var found = files.SelectMany(f => f.Service.Select(s => (Name: string.IsNullOrEmpty(f.Package) ? s.Name : $"{f.Package}.{s.Name}", s)))
                .Single(s => s.Name == service).s;
            foreach (var m in found.Method)
                methods[$"/{service}/{m.Name}"] = !m.ClientStreaming && !m.ServerStreaming;
        }
        await call.RequestStream.CompleteAsync();
        return methods;
    }
}
