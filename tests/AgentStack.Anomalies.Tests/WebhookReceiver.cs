using System.Net;
using System.Net.Sockets;
using System.Text;
using AgentStack.Anomalies.Alerting;

namespace AgentStack.Anomalies.Tests;

/// <summary>A real HTTP endpoint on a free loopback port standing for a webhook: records each request and
/// answers 500 to the first <see cref="FailFirst"/> of them, 204 after.</summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly HttpListener listener = new();
    private readonly List<Delivery> received = [];
    private readonly CancellationTokenSource stopping = new();
    private readonly Task serving;

    public WebhookReceiver()
    {
        using (var socket = new TcpListener(IPAddress.Loopback, 0))
        {
            socket.Start();
            Url = $"http://127.0.0.1:{((IPEndPoint)socket.LocalEndpoint).Port}/hook/";
        }
        listener.Prefixes.Add(Url);
        listener.Start();
        serving = ServeAsync();
    }

    public sealed record Delivery(string Body, string? Signature, string? Timestamp, string? DeliveryId, int Answer);

    public string Url { get; }

    public int FailFirst { get; set; }

    public IReadOnlyList<Delivery> Received { get { lock (received) return [.. received]; } }

    private async Task ServeAsync()
    {
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                // Stop() does not always end a GetContextAsync that is waiting (a test host once hung here for 10 minutes
                // after its last test): the wait ends on the token, and the orphaned accept with the listener.
                context = await listener.GetContextAsync().WaitAsync(stopping.Token);
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
            {
                return;
            }
            using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
            var body = await reader.ReadToEndAsync();
            int answer;
            lock (received)
            {
                answer = received.Count < FailFirst ? 500 : 204;
                received.Add(new Delivery(body, context.Request.Headers[WebhookSender.SignatureHeader],
                    context.Request.Headers[WebhookSender.TimestampHeader], context.Request.Headers[WebhookSender.DeliveryHeader], answer));
            }
            context.Response.StatusCode = answer;
            context.Response.Close();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        listener.Stop();
        listener.Close();
        await serving;
        stopping.Dispose();
    }
}
