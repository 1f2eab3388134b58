using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Grpc.Core;
using Grpc.Net.Client;

namespace AgentStack.FuzzTests;

/// <summary>What one request got back. <see cref="Status"/> is the HTTP status, or for gRPC the status code's number + 1000.</summary>
public sealed record FuzzOutcome(FuzzCase Case, int Status, string Detail, bool Hung, bool ConnectionClosed);

/// <summary>
/// Sends cases concurrently and records each outcome. A request that takes longer than
/// <see cref="Timeout"/> counts as a hang; a connection the server closed (it may stop reading an
/// oversized or bomb body and answer early) is recorded apart and is not a failure by itself.
/// </summary>
public sealed class FuzzRun(Uri baseAddress, string key, int? grpcPort = null) : IDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private readonly HttpClient http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
        BaseAddress = baseAddress,
        Timeout = System.Threading.Timeout.InfiniteTimeSpan,
    };

    private readonly GrpcChannel? channel = grpcPort is { } port
        ? GrpcChannel.ForAddress($"http://127.0.0.1:{port}", new GrpcChannelOptions { MaxSendMessageSize = null, MaxReceiveMessageSize = null })
        : null;

    private static readonly Method<byte[], byte[]> Export = new(MethodType.Unary,
        "opentelemetry.proto.collector.trace.v1.TraceService", "Export",
        Marshallers.Create(b => b, b => b), Marshallers.Create(b => b, b => b));

    public ConcurrentBag<FuzzOutcome> Outcomes { get; } = [];

    public async Task SendAllAsync(int count, Func<int, FuzzCase> generate, int parallelism = 8)
    {
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = parallelism },
            async (index, _) => Outcomes.Add(await SendAsync(generate(index))));
    }

    public async Task<FuzzOutcome> SendAsync(FuzzCase fuzz)
    {
        using var deadline = new CancellationTokenSource(Timeout);
        try
        {
            if (fuzz.Target == "grpc")
                return await SendGrpcAsync(fuzz, deadline.Token);
            using var request = new HttpRequestMessage(HttpMethod.Post, fuzz.Target)
            {
                Content = fuzz.Slow ? new SlowContent(fuzz.Body) : new ByteArrayContent(fuzz.Body),
            };
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(fuzz.ContentType);
            if (fuzz.ContentEncoding is { } encoding)
                request.Content.Headers.ContentEncoding.Add(encoding);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            using var response = await http.SendAsync(request, deadline.Token);
            var body = await response.Content.ReadAsStringAsync(deadline.Token);
            return new FuzzOutcome(fuzz, (int)response.StatusCode, body.Length > 400 ? body[..400] : body, false, false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            return new FuzzOutcome(fuzz, 0, $"no answer within {Timeout.TotalSeconds} s", true, false);
        }
        catch (HttpRequestException e)
        {
            return new FuzzOutcome(fuzz, 0, e.Message, false, true);
        }
    }

    private async Task<FuzzOutcome> SendGrpcAsync(FuzzCase fuzz, CancellationToken ct)
    {
        var headers = new Metadata { { "authorization", "Bearer " + key } };
        try
        {
            await channel!.CreateCallInvoker().AsyncUnaryCall(Export, null, new CallOptions(headers, cancellationToken: ct), fuzz.Body);
            return new FuzzOutcome(fuzz, 1000, "OK", false, false);
        }
        catch (RpcException e) when (!ct.IsCancellationRequested)
        {
            return new FuzzOutcome(fuzz, 1000 + (int)e.StatusCode, $"{e.StatusCode}: {e.Status.Detail}", false, false);
        }
    }

    /// <summary>5xx over HTTP; over gRPC the codes that mean the server failed rather than the request (INTERNAL, UNKNOWN, DATA_LOSS).</summary>
    public static bool IsServerError(FuzzOutcome o) =>
        o.Status is >= 500 and < 600
        || o.Status == 1000 + (int)StatusCode.Internal
        || o.Status == 1000 + (int)StatusCode.Unknown
        || o.Status == 1000 + (int)StatusCode.DataLoss;

    /// <summary>The native endpoint's own account of what a 200 recorded.</summary>
    public static int Accepted(FuzzOutcome o) =>
        o.Status == 200 && o.Case.Target == "/v1/spans" && JsonNode.Parse(o.Detail) is JsonObject answer
            ? answer["accepted"]!.GetValue<int>()
            : 0;

    public string Summary(string phase)
    {
        var byStatus = Outcomes.GroupBy(o => o.Status).OrderBy(g => g.Key)
            .Select(g => $"{(g.Key >= 1000 ? "grpc:" + (StatusCode)(g.Key - 1000) : g.Key == 0 ? "closed/hung" : g.Key.ToString(CultureInfo.InvariantCulture))}={g.Count()}");
        return $"{phase}: {Outcomes.Count} requests, {Outcomes.Count(IsServerError)} server errors, {Outcomes.Count(o => o.Hung)} hangs, "
            + $"{Outcomes.Count(o => o.ConnectionClosed)} connections closed early; " + string.Join(' ', byStatus);
    }

    public string Failures() => string.Join('\n', Outcomes.Where(o => IsServerError(o) || o.Hung)
        .GroupBy(o => o.Case.Target + " " + o.Case.Mutation).Select(g => g.First())
        .Select(o => $"case {o.Case.Index} {o.Case.Target} ({o.Case.Mutation}): {o.Status} {o.Detail}"));

    public void Dispose()
    {
        http.Dispose();
        channel?.Dispose();
    }

    /// <summary>A body that trickles in: a byte every 20 ms for the first 100 bytes, then the rest.</summary>
    private sealed class SlowContent(byte[] body) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var slow = Math.Min(100, body.Length);
            for (var i = 0; i < slow; i++)
            {
                await stream.WriteAsync(body.AsMemory(i, 1));
                await stream.FlushAsync();
                await Task.Delay(20);
            }
            await stream.WriteAsync(body.AsMemory(slow));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = body.Length;
            return true;
        }
    }
}
