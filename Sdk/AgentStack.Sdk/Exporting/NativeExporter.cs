using System.Buffers;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Threading.Channels;

namespace AgentStack.Sdk.Exporting;

/// <summary>
/// Sends finished activities to <c>POST /v1/spans</c> from a background task (issue 6): a bounded queue
/// (full → drop oldest or newest, counted), batches, optional gzip, retries with exponential backoff and
/// full jitter on 5xx and network errors, no retry on other 4xx. A 429 waits as long as its <c>Retry-After</c>
/// says and is retried without using up an attempt, so rate limiting loses nothing (issue 17).
/// <see cref="Enqueue"/> and <see cref="EnqueueStart"/> are the only calls made on the caller's thread: one
/// non-blocking channel write each. A span whose kind is in <see cref="AgentStackOptions.StartEventKinds"/> is
/// sent twice (issue 16): its start record when it starts, its completion when it ends; the counters count records.
/// </summary>
internal sealed class NativeExporter : IAsyncDisposable
{
    /// <summary>The meter every exporter publishes its counters on.</summary>
    public const string MeterName = "AgentStack.Sdk";

    private readonly AgentStackOptions options;
    private readonly Func<ActivitySource, bool> exported;
    private readonly Channel<Item> queue;
    private readonly HashSet<string> startKinds;
    // Name and kind each started span was sent with, so its completion keeps them (the decider refuses a change):
    // touched only by the exporter's loop.
    private readonly Dictionary<string, (string Name, string Kind)> started = new(StringComparer.Ordinal);
    private readonly HttpClient http;
    private readonly Uri spansUri;
    private readonly SemaphoreSlim wake = new(0);
    private readonly CancellationTokenSource stopping = new();
    private readonly Meter meter;
    private readonly Counter<long> exportedCounter, droppedCounter, failedCounter;
    private readonly Task loop;
    private TaskCompletionSource progress = NewProgress();
    private long enqueued, exportedCount, dropped, failed, filtered;
    private int flushRequested;
    private string? lastError;

    public NativeExporter(AgentStackOptions options, Func<ActivitySource, bool> exported)
    {
        this.options = options;
        this.exported = exported;
        startKinds = new HashSet<string>(options.StartEventKinds, StringComparer.Ordinal);
        queue = Channel.CreateBounded<Item>(
            new BoundedChannelOptions(Math.Max(1, options.MaxQueueSize))
            {
                FullMode = options.QueueFullMode == QueueFullMode.DropOldest ? BoundedChannelFullMode.DropOldest : BoundedChannelFullMode.DropWrite,
                SingleReader = true,
                SingleWriter = false,
            },
            _ =>
            {
                Interlocked.Increment(ref dropped);
                droppedCounter!.Add(1);
            });
        http = options.HttpMessageHandler is { } handler
            ? new HttpClient(handler, disposeHandler: false)
            : new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2) });
        http.Timeout = options.ExportTimeout;
        if (!string.IsNullOrEmpty(options.ApiKey))
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.ApiKey);
        spansUri = new Uri(options.Endpoint, "v1/spans");

        meter = new Meter(MeterName, typeof(NativeExporter).Assembly.GetName().Version?.ToString());
        exportedCounter = meter.CreateCounter<long>("agentstack.sdk.spans.exported", "{span}", "Spans the AgentStack server acknowledged");
        droppedCounter = meter.CreateCounter<long>("agentstack.sdk.spans.dropped", "{span}", "Spans dropped because the export queue was full");
        failedCounter = meter.CreateCounter<long>("agentstack.sdk.spans.failed", "{span}", "Spans refused by the server or still failing after every attempt");
        meter.CreateObservableGauge("agentstack.sdk.queue.length", () => queue.Reader.Count, "{span}", "Spans waiting for export");

        loop = Task.Run(RunAsync);
    }

    public ExportStatistics Statistics => new(
        Interlocked.Read(ref enqueued), Interlocked.Read(ref exportedCount), Interlocked.Read(ref dropped),
        Interlocked.Read(ref failed), Interlocked.Read(ref filtered), queue.Reader.Count, Volatile.Read(ref lastError));

    private long Settled => Interlocked.Read(ref exportedCount) + Interlocked.Read(ref dropped)
        + Interlocked.Read(ref failed) + Interlocked.Read(ref filtered);

    /// <summary>How many spans had their start record sent and await their completion (the exporter's own bookkeeping).</summary>
    internal int StartsAwaitingCompletion => started.Count;

    /// <summary>Whether any span kind is sent when it starts.</summary>
    public bool SendsStarts => startKinds.Count > 0;

    /// <summary>Called on the caller's thread when an activity starts: enqueues its start record if its kind asks for one.</summary>
    public void EnqueueStart(Activity activity)
    {
        if (startKinds.Contains(SpanConverter.KindOf(activity)))
            Write(new Item(activity, Start: true));
    }

    /// <summary>Called on the caller's thread when an activity stops: never blocks, never throws.</summary>
    public void Enqueue(Activity activity) => Write(new Item(activity, Start: false));

    private readonly record struct Item(Activity Activity, bool Start);

    private void Write(Item item)
    {
        Interlocked.Increment(ref enqueued);
        if (!queue.Writer.TryWrite(item))
        {
            // Only after disposal: the writer is completed.
            Interlocked.Increment(ref dropped);
            droppedCounter.Add(1);
        }
    }

    /// <summary>Completes once every span enqueued before the call has been exported, dropped or given up on.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        var target = Interlocked.Read(ref enqueued);
        while (Settled < target)
        {
            var next = Volatile.Read(ref progress).Task;
            if (Settled >= target)
                break;
            Interlocked.Exchange(ref flushRequested, 1);
            wake.Release();
            await next.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static TaskCompletionSource NewProgress() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void ReportProgress() => Interlocked.Exchange(ref progress, NewProgress()).TrySetResult();

    private async Task RunAsync()
    {
        var batch = new List<Item>(options.MaxBatchSize);
        var token = stopping.Token;
        try
        {
            while (await queue.Reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                // Let a batch fill unless a flush is waiting or a full batch is already there.
                if (Volatile.Read(ref flushRequested) == 0 && queue.Reader.Count < options.MaxBatchSize)
                    await wake.WaitAsync(options.ExportInterval, token).ConfigureAwait(false);
                Interlocked.Exchange(ref flushRequested, 0);

                while (queue.Reader.TryRead(out var activity))
                {
                    batch.Add(activity);
                    if (batch.Count >= options.MaxBatchSize)
                    {
                        await ExportAsync(batch, token).ConfigureAwait(false);
                        batch.Clear();
                    }
                }
                if (batch.Count > 0)
                {
                    await ExportAsync(batch, token).ConfigureAwait(false);
                    batch.Clear();
                }
                ReportProgress();
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        // Whatever is left when the exporter is stopped is lost: count it.
        var left = batch.Count;
        while (queue.Reader.TryRead(out _))
            left++;
        if (left > 0)
        {
            Interlocked.Add(ref failed, left);
            failedCounter.Add(left);
        }
        ReportProgress();
    }

    private async Task ExportAsync(List<Item> batch, CancellationToken token)
    {
        var spans = new List<SpanData>(batch.Count);
        foreach (var (activity, start) in batch)
        {
            try
            {
                var span = start
                    ? SpanConverter.ConvertStart(activity, options, exported)
                    : SpanConverter.Convert(activity, options, exported);
                // The span's start record, if one was sent, is forgotten at its completion whatever the hook decides.
                var sentStart = !start && started.Remove(span.SpanId, out var identity) ? identity : default((string Name, string Kind)?);
                if (options.Redact is { } redact)
                    span = redact(span);
                if (span is null)
                {
                    Interlocked.Increment(ref filtered);
                    continue;
                }
                if (start)
                    started[span.SpanId] = (span.Name, span.Kind);
                else if (sentStart is { } sent)
                    (span.Name, span.Kind) = sent;
                spans.Add(span);
            }
#pragma warning disable CA1031 // A faulty redaction hook or an odd activity must cost one span, never the exporter.
            catch (Exception e)
#pragma warning restore CA1031
            {
                Interlocked.Increment(ref filtered);
                Volatile.Write(ref lastError, $"span {activity.SpanId} could not be converted or redacted: {e.Message}");
            }
        }
        foreach (var request in BySize(spans))
            await SendAsync(request, token).ConfigureAwait(false);
    }

    /// <summary>
    /// The spans' JSON, each written once, in requests of at most <see cref="AgentStackOptions.MaxBatchBytes"/> each (a
    /// larger span alone); a request that is split or resent later is put together again from the same bytes.
    /// </summary>
    private IEnumerable<List<byte[]>> BySize(List<SpanData> spans)
    {
        var request = new List<byte[]>();
        long bytes = 0;
        foreach (var span in spans)
        {
            var json = SpanJson.Encode(span);
            if (request.Count > 0 && bytes + json.Length > options.MaxBatchBytes)
            {
                yield return request;
                request = [];
                bytes = 0;
            }
            request.Add(json);
            bytes += json.Length;
        }
        if (request.Count > 0)
            yield return request;
    }

    /// <summary>
    /// Sends one request's spans until they are accepted, refused or out of attempts. A 413 splits them in two; a 400
    /// that names some of them (<c>spans[i].field</c>) fails those and sends the rest again, so one bad span costs itself.
    /// </summary>
    private async Task SendAsync(List<byte[]> spans, CancellationToken token)
    {
        var body = Body(spans);
        for (var attempt = 1; ; attempt++)
        {
            var (outcome, retryAfter, error, refused) = await SendAsync(body, token).ConfigureAwait(false);
            if (outcome == Outcome.Success)
            {
                Interlocked.Add(ref exportedCount, spans.Count);
                exportedCounter.Add(spans.Count);
                return;
            }
            Volatile.Write(ref lastError, error);
            if (outcome == Outcome.TooLarge && spans.Count > 1)
            {
                var half = spans.Count / 2;
                await SendAsync(spans[..half], token).ConfigureAwait(false);
                await SendAsync(spans[half..], token).ConfigureAwait(false);
                return;
            }
            if (refused is { Count: > 0 } && refused.Count < spans.Count && refused.All(i => i < spans.Count))
            {
                Interlocked.Add(ref failed, refused.Count);
                failedCounter.Add(refused.Count);
                await SendAsync(spans.Where((_, i) => !refused.Contains(i)).ToList(), token).ConfigureAwait(false);
                return;
            }
            if (outcome == Outcome.Throttled)
            {
                // 429 (issue 17): the server is well and asks us to slow down, so waiting as long as it says
                // costs no attempt; the batch is kept until accepted (or the exporter stops), and spans that
                // keep arriving meanwhile wait in the bounded queue, whose overflow is counted as dropped.
                await Task.Delay(ThrottledDelay(attempt, retryAfter), token).ConfigureAwait(false);
                attempt--;
                continue;
            }
            if (outcome is Outcome.Permanent or Outcome.TooLarge || attempt >= options.MaxAttempts)
            {
                Interlocked.Add(ref failed, spans.Count);
                failedCounter.Add(spans.Count);
                return;
            }
            await Task.Delay(RetryDelay(attempt, retryAfter), token).ConfigureAwait(false);
        }
    }

    private enum Outcome { Success, Transient, Throttled, TooLarge, Permanent }

    private async Task<(Outcome, TimeSpan?, string?, HashSet<int>?)> SendAsync(byte[] body, CancellationToken token)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (options.UseGzip)
            content.Headers.ContentEncoding.Add("gzip");
        try
        {
            using var response = await http.PostAsync(spansUri, content, token).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
                return (Outcome.Success, null, null, null);
            var status = (int)response.StatusCode;
            var detail = await ReadDetailAsync(response, token).ConfigureAwait(false);
            var error = $"POST {spansUri} answered {status}: {(detail.Length <= 2000 ? detail : detail[..2000])}";
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
                return (Outcome.Throttled, RetryAfter(response), error, null);
            if (status >= 500 || response.StatusCode is HttpStatusCode.RequestTimeout)
                return (Outcome.Transient, RetryAfter(response), error, null);
            if (response.StatusCode is HttpStatusCode.RequestEntityTooLarge)
                return (Outcome.TooLarge, null, error, null);
            return (Outcome.Permanent, null, error, response.StatusCode == HttpStatusCode.BadRequest ? RefusedSpans(detail) : null);
        }
        catch (HttpRequestException e)
        {
            return (Outcome.Transient, null, $"POST {spansUri} failed: {e.Message}", null);
        }
        catch (TaskCanceledException) when (!token.IsCancellationRequested)
        {
            return (Outcome.Transient, null, $"POST {spansUri} timed out after {options.ExportTimeout}", null);
        }
    }

    private static async Task<string> ReadDetailAsync(HttpResponseMessage response, CancellationToken token)
    {
        try
        {
            return await response.Content.ReadAsStringAsync(token).ConfigureAwait(false);
        }
        catch (HttpRequestException)
        {
            return "";
        }
    }

    /// <summary>
    /// The spans a 400 names (its problem's <c>errors</c> keys <c>spans[i]</c> or <c>spans[i].field</c>); null when any
    /// error is about the request as a whole, or the answer is not such a problem.
    /// </summary>
    internal static HashSet<int>? RefusedSpans(string problem)
    {
        try
        {
            using var document = JsonDocument.Parse(problem);
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("errors", out var errors) || errors.ValueKind != JsonValueKind.Object)
                return null;
            var refused = new HashSet<int>();
            foreach (var error in errors.EnumerateObject())
            {
                var key = error.Name.AsSpan();
                var close = key.StartsWith("spans[") ? key[6..].IndexOf(']') : -1;
                if (close < 1 || !int.TryParse(key.Slice(6, close), System.Globalization.NumberStyles.None,
                        System.Globalization.CultureInfo.InvariantCulture, out var index))
                    return null;
                refused.Add(index);
            }
            return refused.Count > 0 ? refused : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response) => response.Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date - DateTimeOffset.UtcNow,
        _ => null,
    };

    /// <summary>
    /// Exponential backoff with jitter: a wait between half and all of the doubled delay (so a retry never comes at
    /// once); the server's Retry-After wins when it asks for longer.
    /// </summary>
    private TimeSpan RetryDelay(int attempt, TimeSpan? retryAfter)
    {
        var ceiling = Math.Min(options.MaxRetryDelay.TotalMilliseconds,
            options.InitialRetryDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 30)));
#pragma warning disable CA5394 // Jitter, not security.
        var jittered = TimeSpan.FromMilliseconds(ceiling / 2 + Random.Shared.NextDouble() * ceiling / 2);
#pragma warning restore CA5394
        if (retryAfter is { } wanted && wanted > jittered)
            return wanted < options.MaxRetryDelay ? wanted : options.MaxRetryDelay;
        return jittered;
    }

    /// <summary>The server's Retry-After (capped by <see cref="AgentStackOptions.MaxRetryDelay"/>), else the usual backoff.</summary>
    private TimeSpan ThrottledDelay(int attempt, TimeSpan? retryAfter) =>
        retryAfter is { } wanted && wanted > TimeSpan.Zero
            ? (wanted < options.MaxRetryDelay ? wanted : options.MaxRetryDelay)
            : RetryDelay(attempt, null);

    /// <summary>The body of <c>POST /v1/spans</c> around the spans' JSON, gzip-compressed when asked.</summary>
    private byte[] Body(List<byte[]> spans)
    {
        using var body = new MemoryStream();
        if (!options.UseGzip)
            SpanJson.WriteBatch(body, spans);
        else
        {
            using var gzip = new GZipStream(body, CompressionLevel.Fastest, leaveOpen: true);
            SpanJson.WriteBatch(gzip, spans);
        }
        return body.ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        using (var timeout = new CancellationTokenSource(options.ShutdownTimeout))
        {
            try
            {
                await FlushAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
        queue.Writer.TryComplete();
        await stopping.CancelAsync().ConfigureAwait(false);
        await loop.ConfigureAwait(false);
        stopping.Dispose();
        wake.Dispose();
        http.Dispose();
        meter.Dispose();
    }
}
