using System.Diagnostics;
using System.Net;
using AgentStack.Testing;
using Grpc.Core;
using Grpc.Net.Client;
using OpenTelemetry.Proto.Collector.Trace.V1;
using static AgentStack.Otlp.Tests.OtlpRequests;
using RpcStatus = Google.Rpc.Status;

namespace AgentStack.Otlp.Tests.Exporting;

/// <summary>
/// Issue 13: OTLP/HTTP and OTLP/gRPC go through the same ingestion service as <c>POST /v1/spans</c>, so while the
/// broker is away they answer 503 + Retry-After and UNAVAILABLE within the command timeout, as the native endpoint
/// does (tests/AgentStack.EndToEndTests/Distributed/when_rabbitmq_stops_during_ingestion.cs), and recover alone.
/// The broker is a private node of this test: the shared one is never paused.
/// </summary>
public sealed class when_rabbitmq_stops_during_an_otlp_export : IAsyncLifetime
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(5);

    // What a busy 2-core machine may add to the timeout before the answer is on the wire.
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(5);

    private PrivateRabbitMq rabbit = null!;
    private ServerProcess server = null!;
    private int grpcPort;

    public async ValueTask InitializeAsync()
    {
        rabbit = await PrivateRabbitMq.StartAsync();
        grpcPort = ChildProcesses.FreePort();
        var settings = rabbit.BusSettings();
        settings["AgentStack__Ingest__CommandTimeout"] = CommandTimeout.ToString();
        settings["AgentStack__Otlp__GrpcPort"] = grpcPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        server = await ServerProcess.StartAsync(settings);
    }

    public async ValueTask DisposeAsync()
    {
        if (server is not null)
            await server.DisposeAsync();
        if (rabbit is not null)
            await rabbit.DisposeAsync();
    }

    [Fact]
    public async Task then_http_answers_503_and_grpc_unavailable_within_the_command_timeout_and_both_recover()
    {
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");
        var grpc = new TraceService.TraceServiceClient(channel);
        var key = new Metadata { { "authorization", $"Bearer {ServerProcess.BootstrapKey}" } };
        var traces = new Uri("/v1/traces", UriKind.Relative);

        using (var before = await server.Client.PostAsync(traces, Protobuf(Request(ChatSpan(NewTraceId())))))
            before.StatusCode.ShouldBe(HttpStatusCode.OK);
        await grpc.ExportAsync(Request(ChatSpan(NewTraceId())), key);

        await rabbit.PauseAsync();
        try
        {
            var clock = Stopwatch.StartNew();
            using var http = await server.Client.PostAsync(traces, Protobuf(Request(ChatSpan(NewTraceId()))));
            var httpElapsed = clock.Elapsed;
            http.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
            http.Headers.RetryAfter.ShouldNotBeNull();
            RpcStatus.Parser.ParseFrom(await http.Content.ReadAsByteArrayAsync()).Code.ShouldBe((int)StatusCode.Unavailable);
            httpElapsed.ShouldBeLessThan(CommandTimeout + Slack);

            clock.Restart();
            var unavailable = await Should.ThrowAsync<RpcException>(async () =>
                await grpc.ExportAsync(Request(ChatSpan(NewTraceId())), key));
            var grpcElapsed = clock.Elapsed;
            unavailable.StatusCode.ShouldBe(StatusCode.Unavailable);
            grpcElapsed.ShouldBeLessThan(CommandTimeout + Slack);
        }
        finally
        {
            await rabbit.ResumeAsync();
        }

        // Recovery: both transports are accepted again once MassTransit has reconnected (polled, as Eventually does).
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            try
            {
                await grpc.ExportAsync(Request(ChatSpan(NewTraceId())), key);
                using var http = await server.Client.PostAsync(traces, Protobuf(Request(ChatSpan(NewTraceId()))));
                if (http.StatusCode == HttpStatusCode.OK)
                    break;
                http.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable)
            {
                // still reconnecting to the broker
            }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("OTLP ingestion did not recover within 90 s after the broker came back");
            await Task.Delay(50);
        }
    }
}
