using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using AgentStack.Testing;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using OpenTelemetry.Proto.Collector.Trace.V1;
using static AgentStack.Otlp.Tests.OtlpRequests;
using RpcStatus = Google.Rpc.Status;

namespace AgentStack.Otlp.Tests.Limiting;

/// <summary>
/// A server whose project <see cref="Project"/> has small limits of its own
/// (<c>AgentStack:Projects:{project}:Ingest:*</c>) while the deployment keeps its defaults, OTLP/gRPC on.
/// </summary>
public sealed class LimitedProjectServer : IAsyncLifetime
{
    public const string Project = "tight";
    public const int MaxBodyBytes = 30_000;
    public const int MaxSpansPerBatch = 3;
    public const int MaxAttributes = 12;
    public const int MaxAttributeKeyLength = 40;
    public const int MaxAttributeValueLength = 3_000;
    public const int MaxPayloadBytes = 8_000;

    public ServerProcess Server { get; private set; } = null!;
    public int GrpcPort { get; private set; }
    public string Secret { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        GrpcPort = ChildProcesses.FreePort();
        string Limit(string name) => $"AgentStack__Projects__{Project}__Ingest__{name}";
        Server = await ServerProcess.StartAsync(new Dictionary<string, string>
        {
            ["AgentStack__Otlp__GrpcPort"] = GrpcPort.ToString(CultureInfo.InvariantCulture),
            [Limit("MaxBodyBytes")] = MaxBodyBytes.ToString(CultureInfo.InvariantCulture),
            [Limit("MaxSpansPerBatch")] = MaxSpansPerBatch.ToString(CultureInfo.InvariantCulture),
            [Limit("MaxAttributes")] = MaxAttributes.ToString(CultureInfo.InvariantCulture),
            [Limit("MaxAttributeKeyLength")] = MaxAttributeKeyLength.ToString(CultureInfo.InvariantCulture),
            [Limit("MaxAttributeValueLength")] = MaxAttributeValueLength.ToString(CultureInfo.InvariantCulture),
            [Limit("MaxPayloadBytes")] = MaxPayloadBytes.ToString(CultureInfo.InvariantCulture),
        });
        using var created = await Server.Client.PostAsJsonAsync(new Uri("/api/projects", UriKind.Relative), new { name = Project });
        created.StatusCode.ShouldBe(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        Secret = (await created.Content.ReadFromJsonAsync<JsonObject>())!["secret"]!.GetValue<string>();
    }

    public async ValueTask DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>
/// Issue 17, item 2: body, batch, attribute and payload limits per project, enforced by the one ingestion service
/// for <c>/v1/spans</c>, OTLP/HTTP and OTLP/gRPC alike. A batch over one of its project's limits is refused whole
/// (413 for the body, 400 otherwise; gRPC RESOURCE_EXHAUSTED or INVALID_ARGUMENT) with an answer naming the limit,
/// its value and where (the span, the attribute); the log does not move. The same batch from the operator's
/// project, which keeps the deployment's limits, is recorded.
/// </summary>
public sealed class when_a_project_has_its_own_limits(LimitedProjectServer fixture) : IClassFixture<LimitedProjectServer>
{
    public enum Surface { NativeSpans, OtlpHttp, OtlpGrpc }

    /// <summary>One span's shape: how many, which extra attributes, how long its input.</summary>
    public sealed record Shape(int Spans, int InputLength, IReadOnlyList<(string Key, string Value)> Attributes);

    private static readonly Dictionary<string, (Shape Shape, bool TooLarge, string[] Named)> Cases = new()
    {
        ["MaxBodyBytes"] = (new Shape(1, 40_000, []), true,
            ["MaxBodyBytes", LimitedProjectServer.MaxBodyBytes.ToString(CultureInfo.InvariantCulture)]),
        ["MaxSpansPerBatch"] = (new Shape(4, 10, []), false,
            ["MaxSpansPerBatch", "holds 4 spans", $"limit is {LimitedProjectServer.MaxSpansPerBatch}"]),
        ["MaxAttributes"] = (new Shape(1, 10, [.. Enumerable.Range(0, 20).Select(i => ($"a.{i}", "v"))]), false,
            ["MaxAttributes", $"limit is {LimitedProjectServer.MaxAttributes}", "spans[0]"]),
        ["MaxAttributeKeyLength"] = (new Shape(1, 10, [("k" + new string('x', 59), "v")]), false,
            ["MaxAttributeKeyLength", "60 characters", $"limit is {LimitedProjectServer.MaxAttributeKeyLength}", "spans[0]", "kxxxxxxxx"]),
        ["MaxAttributeValueLength"] = (new Shape(1, 10, [("big.value", new string('v', 3_500))]), false,
            ["MaxAttributeValueLength", "3500 characters", $"limit is {LimitedProjectServer.MaxAttributeValueLength}", "spans[0]", "big.value"]),
        ["MaxPayloadBytes"] = (new Shape(1, 10_000, []), false,
            ["MaxPayloadBytes", $"limit is {LimitedProjectServer.MaxPayloadBytes} bytes", "spans[0]", "input"]),
    };

    public static TheoryData<string, Surface> Matrix()
    {
        var data = new TheoryData<string, Surface>();
        foreach (var limit in Cases.Keys)
            foreach (var surface in Enum.GetValues<Surface>())
                data.Add(limit, surface);
        return data;
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task then_a_batch_over_a_limit_of_its_project_is_refused_whole_naming_the_limit(string limit, Surface surface)
    {
        var (shape, tooLarge, named) = Cases[limit];
        var server = fixture.Server;
        var before = await server.LogPositionAsync();

        var (status, code, answer) = await SendAsync(surface, shape, fixture.Secret);
        status.ShouldBe(tooLarge ? HttpStatusCode.RequestEntityTooLarge : HttpStatusCode.BadRequest, answer);
        code.ShouldBe(tooLarge ? StatusCode.ResourceExhausted : StatusCode.InvalidArgument, answer);
        foreach (var text in named)
            answer.ShouldContain(text, Case.Sensitive, $"{limit} over {surface}");
        (await server.LogPositionAsync()).ShouldBe(before, "nothing of a refused batch is written");

        // The operator's project keeps the deployment's limits: the same batch is recorded.
        var (defaultStatus, _, defaultAnswer) = await SendAsync(surface, shape, ServerProcess.BootstrapKey);
        defaultStatus.ShouldBe(HttpStatusCode.OK, defaultAnswer);
        (await server.LogPositionAsync()).ShouldBeGreaterThan(before);
    }

    /// <summary>Sends the shape over one surface; the HTTP status (gRPC: mapped), the rpc code, and the answer's text.</summary>
    private async Task<(HttpStatusCode Status, StatusCode Code, string Answer)> SendAsync(Surface surface, Shape shape, string key)
    {
        switch (surface)
        {
            case Surface.NativeSpans:
            {
                using var client = fixture.Server.CreateClient(key);
                using var response = await client.PostSpansAsync(NativeBatch(shape));
                var text = await response.Content.ReadAsStringAsync();
                var code = response.StatusCode switch
                {
                    HttpStatusCode.OK => StatusCode.OK,
                    HttpStatusCode.RequestEntityTooLarge => StatusCode.ResourceExhausted,
                    HttpStatusCode.BadRequest => StatusCode.InvalidArgument,
                    _ => StatusCode.Unknown,
                };
                return (response.StatusCode, code, text);
            }
            case Surface.OtlpHttp:
            {
                using var client = fixture.Server.CreateClient(key);
                using var response = await client.PostAsync(new Uri("/v1/traces", UriKind.Relative), Protobuf(OtlpBatch(shape)));
                var body = await response.Content.ReadAsByteArrayAsync();
                if (response.StatusCode == HttpStatusCode.OK)
                    return (response.StatusCode, StatusCode.OK, "");
                var status = RpcStatus.Parser.ParseFrom(body);
                return (response.StatusCode, (StatusCode)status.Code, status.Message);
            }
            default:
            {
                using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{fixture.GrpcPort}");
                var service = new TraceService.TraceServiceClient(channel);
                try
                {
                    await service.ExportAsync(OtlpBatch(shape), new Metadata { { "authorization", $"Bearer {key}" } });
                    return (HttpStatusCode.OK, StatusCode.OK, "");
                }
                catch (RpcException e)
                {
                    var status = e.StatusCode == StatusCode.ResourceExhausted ? HttpStatusCode.RequestEntityTooLarge : HttpStatusCode.BadRequest;
                    return (status, e.StatusCode, e.Status.Detail);
                }
            }
        }
    }

    private static string NativeBatch(Shape shape)
    {
        var traceId = Spans.NewId();
        var spans = Enumerable.Range(0, shape.Spans).Select(i =>
        {
            var attributes = new JsonObject();
            foreach (var (k, v) in shape.Attributes)
                attributes[k] = v;
            return Spans.Span(traceId, $"s{i}", end: DateTimeOffset.UtcNow, input: JsonValue.Create(new string('i', shape.InputLength)).ToJsonString(),
                extra: shape.Attributes.Count > 0 ? $"\"attributes\":{attributes.ToJsonString()}" : null);
        });
        return Spans.Batch([.. spans]);
    }

    private static ExportTraceServiceRequest OtlpBatch(Shape shape)
    {
        var traceId = NewTraceId();
        var spans = Enumerable.Range(0, shape.Spans).Select(_ =>
        {
            var span = ChatSpan(traceId, content: new string('i', shape.InputLength));
            foreach (var (k, v) in shape.Attributes)
                span.Attributes.Add(Attr(k, v));
            return span;
        });
        return Request([.. spans]);
    }
}
