using AgentStack.Security.SensitiveData;
using System.Buffers;
using System.IO.Compression;
using AgentStack.Commands.Spans.RecordingSpans;
using AgentStack.Events;
using MassTransit;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentStack.Commands.Spans.Ingesting;

/// <summary>
/// What became of a batch, whatever the endpoint. Each outcome carries its HTTP status and its google.rpc code
/// (OTLP/HTTP and OTLP/gRPC use the same code), so the mapping lives here once (issue 13).
/// </summary>
public abstract record IngestOutcome(int HttpStatus, int RpcCode)
{
    /// <summary>Seconds a client should wait before retrying an <see cref="Unavailable"/> outcome (Retry-After).</summary>
    public const int RetryAfterSeconds = 5;

    public sealed record Recorded(int Accepted, int Duplicates) : IngestOutcome(StatusCodes.Status200OK, 0);

    public sealed record Invalid(string Message, Dictionary<string, string[]> Errors)
        : IngestOutcome(StatusCodes.Status400BadRequest, RpcCodes.InvalidArgument);

    /// <summary>The request is over the project's body limit (<c>MaxBodyBytes</c>): 413, gRPC RESOURCE_EXHAUSTED.</summary>
    public sealed record TooLarge(string Message) : IngestOutcome(StatusCodes.Status413PayloadTooLarge, RpcCodes.ResourceExhausted);

    public sealed record Conflicted(string Message, IReadOnlyList<SpanConflict> Conflicts)
        : IngestOutcome(StatusCodes.Status409Conflict, RpcCodes.AlreadyExists);

    /// <summary>The spans could not be made durable within the command timeout: 503 + Retry-After, gRPC UNAVAILABLE.</summary>
    public sealed record Unavailable(string Message) : IngestOutcome(StatusCodes.Status503ServiceUnavailable, RpcCodes.Unavailable);
}

/// <summary>The google.rpc.Code values ingestion answers with (OTLP spec, failure table).</summary>
public static class RpcCodes
{
    public const int InvalidArgument = 3;
    public const int AlreadyExists = 6;
    public const int ResourceExhausted = 8;
    public const int Unavailable = 14;
}

/// <summary>
/// The one ingestion service behind <c>POST /v1/spans</c>, <c>POST /v1/traces</c> and OTLP/gRPC (issue 13): it
/// sends the <see cref="RecordSpans"/> command, bounds the whole round trip by
/// <see cref="IngestOptions.CommandTimeout"/> (also while a broker is away: MassTransit's own timeout only starts
/// once the command is sent, and sending waits without observing cancellation), and turns the reply or the failure
/// into an <see cref="IngestOutcome"/>. A 2xx therefore always means durable (docs/architecture.md, invariant 1).
/// </summary>
public sealed class SpanIngestion(ISpanRecorder recorder, IOptionsMonitor<IngestOptions> options, IngestMetrics metrics,
    IOptions<MaskingOptions> masking, ILogger<SpanIngestion> logger)
{
    /// <summary>The deployment's limits (<c>AgentStack:Ingest</c>).</summary>
    public IngestOptions Limits => options.CurrentValue;

    /// <summary>
    /// One project's limits: the deployment's with the project's own overrides (<c>AgentStack:Projects:{project}:Ingest</c>).
    /// Every endpoint reads them once the key is authenticated, before it reads the body, so a batch over a limit is
    /// refused whole (docs/architecture.md, invariant 7).
    /// </summary>
    public IngestOptions LimitsFor(string project) => options.Get(project);

    public async Task<IngestOutcome> RecordAsync(string project, string keyId, DateTimeOffset receivedAt,
        IReadOnlyList<SpanRecord> spans, CancellationToken ct)
    {
        var timeout = options.CurrentValue.CommandTimeout;
        // Issue 15: a project's masking policy applies before anything is stored, whatever the endpoint.
        var command = new RecordSpans(NewId.NextGuid(), project, keyId, receivedAt, SpanMasking.Apply(spans, project, masking.Value));
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
            deadline.CancelAfter(timeout);
            // WaitAsync bounds the round trip even where the recorder does not observe cancellation; a command
            // that still arrives late is idempotent.
            var reply = await recorder.RecordAsync(command, deadline.Token).WaitAsync(timeout, ct);
            if (reply.Recorded is { } recorded)
                return new IngestOutcome.Recorded(recorded.Accepted, recorded.Duplicates);
            var conflicts = reply.Conflicted!.Conflicts;
            return new IngestOutcome.Conflicted(
                "spans conflict with what is already recorded; nothing was recorded: " +
                string.Join("; ", conflicts.Select(c => $"span {c.SpanId} of trace {c.TraceId}: {c.Reason}")),
                conflicts);
        }
        catch (Exception e) when (IsUnavailable(e) || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            logger.LogWarning(e, "Spans could not be made durable; answering unavailable");
            // A timeout can fall after the append reached the store: the batch may be durable. A retry is safe either way
            // (what was recorded counts as duplicates).
            return new IngestOutcome.Unavailable(
                "the spans could not be confirmed durable in time; retry after the delay in Retry-After (spans already " +
                "recorded count as duplicates)");
        }
    }

    /// <summary>Validation refused the batch: counted, and described field by field.</summary>
    public IngestOutcome.Invalid Invalid(Dictionary<string, string[]> errors)
    {
        metrics.Rejected.Add(1);
        return new("the request is invalid; nothing was recorded: " +
            string.Join("; ", errors.Take(10).SelectMany(e => e.Value.Select(m => $"{e.Key}: {m}")))
            + (errors.Count > 10 ? $"; and {errors.Count - 10} more" : ""), errors);
    }

    /// <summary>The request is over the project's body limit: counted.</summary>
    public IngestOutcome.TooLarge TooLarge(string message)
    {
        metrics.Rejected.Add(1);
        return new(message);
    }

    public void CountRejected() => metrics.Rejected.Add(1);

    private static bool IsUnavailable(Exception e) => e switch
    {
        RequestTimeoutException => true,
        TimeoutException => true,
        EventStoreUnavailableException => true,
        // Other writers kept winning the trace's stream through every retry: nothing was written, and a later try can win.
        WrongExpectedVersionException => true,
        RequestFaultException f => f.Fault?.Exceptions.Any(x => x.ExceptionType == typeof(EventStoreUnavailableException).FullName
            || x.ExceptionType == typeof(WrongExpectedVersionException).FullName) == true,
        _ => false,
    };
}

/// <summary>Why a request body was refused before parsing; each endpoint renders it in its own format.</summary>
public sealed record BodyFailure(int HttpStatus, int RpcCode, string Title, string Detail, string Field,
    string? Limit = null, long? LimitValue = null);

/// <summary>
/// Reads an ingestion request body once, for every HTTP endpoint: Content-Encoding (gzip or none), the size limit
/// before and after inflating (a small gzip body can inflate enormously), the whole body into memory, and for JSON
/// bodies that the text is UTF-8 (<see cref="JsonText"/>).
/// </summary>
public static class IngestBody
{
    /// <summary>
    /// A body read whole, in an array rented from <see cref="ArrayPool{T}.Shared"/> (past <see cref="MaxPooledLength"/>,
    /// one of its own). Dispose it once, as soon as the body is parsed: the array then serves another request. Only a
    /// span is handed out, so whatever a parser builds from it holds copies, never the array.
    /// </summary>
    public readonly struct Buffer : IDisposable
    {
        private readonly byte[]? array;
        private readonly int length;

        internal Buffer(byte[] array, int length)
        {
            this.array = array;
            this.length = length;
        }

        public ReadOnlySpan<byte> Span => array.AsSpan(0, length);

        /// <summary>The same array without its last <paramref name="count"/> bytes, which are cleared.</summary>
        internal Buffer Shortened(int count)
        {
            array.AsSpan(length - count, count).Clear();
            return new Buffer(array!, length - count);
        }

        public void Dispose()
        {
            if (array is not null)
                Return(array, length);
        }
    }

    /// <summary>
    /// The largest array taken from the pool. The pool keeps every array it is given, in caches per thread and per
    /// core that only later gen2 collections trim, so a body larger than the batches SDKs send (a gzip bomb read up
    /// to the limit) gets an array of its own, left to the GC: pooling those left the server holding hundreds of
    /// megabytes after the fuzz run (tests/AgentStack.FuzzTests, resident memory check).
    /// </summary>
    private const int MaxPooledLength = 1024 * 1024;

    /// <summary>
    /// The body, or why it was refused (then the body is empty and nothing is rented). The caller disposes the body.
    /// </summary>
    public static async Task<(Buffer Body, BodyFailure? Failure)> ReadAsync(HttpContext http, IngestOptions limits, bool json)
    {
        var encoding = http.Request.Headers.ContentEncoding.ToString().Trim();
        var gzip = encoding.Equals("gzip", StringComparison.OrdinalIgnoreCase);
        if (!gzip && encoding.Length > 0 && !encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
            return (default, new BodyFailure(StatusCodes.Status415UnsupportedMediaType, RpcCodes.InvalidArgument,
                "Unsupported content encoding", $"Content-Encoding '{encoding}' is not supported: send gzip or no encoding.",
                "Content-Encoding"));

        if (http.Request.ContentLength > limits.MaxBodyBytes)
            return (default, TooLarge(limits, $"The body is {http.Request.ContentLength} bytes; the limit is {limits.MaxBodyBytes} bytes"));
        // The body is counted as it is read, not by the server's request size limit: Kestrel counts a chunked body's
        // framing (chunk sizes, line ends) against it too, so a chunked body under MaxBodyBytes was refused.
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
            sizeFeature.MaxRequestBodySize = null;
        var received = new LimitedReadStream(http.Request.Body, limits.MaxBodyBytes);

        Buffer body;
        GzipInput? input = null;
        try
        {
            if (gzip)
            {
                input = new GzipInput(received);
                await using var inflater = new LimitedReadStream(
                    new GZipStream(input, CompressionMode.Decompress, leaveOpen: true), limits.MaxBodyBytes + GzipInput.Marker.Length);
                body = await ReadToEndAsync(inflater, 64 * 1024, http.RequestAborted);
                if (GzipEnd(input, ref body, limits) is { } failure)
                {
                    body.Dispose();
                    return (default, failure);
                }
            }
            else
            {
                // One byte more than Content-Length, so the read that finds the end needs no larger array.
                var capacity = http.Request.ContentLength is { } length ? (int)length + 1 : 64 * 1024;
                body = await ReadToEndAsync(received, capacity, http.RequestAborted);
            }
        }
        catch (InvalidDataException) when (input is not null)
        {
            return (default, InvalidGzip(
                !input.StartsLikeGzip ? "The body is not gzip: it does not start with the gzip magic bytes 1f 8b, yet Content-Encoding is gzip. Send it gzipped, or without Content-Encoding."
                : input.SentinelRead ? Truncated
                : "The gzip body is not valid gzip: its compressed data or a checksum is corrupt."));
        }
        catch (LimitedReadStream.LimitExceededException) when (received.Position > limits.MaxBodyBytes)
        {
            return (default, TooLarge(limits, $"The body exceeds the limit of {limits.MaxBodyBytes} bytes"));
        }
        catch (LimitedReadStream.LimitExceededException)
        {
            return (default, TooLarge(limits, $"The body decompresses to more than {limits.MaxBodyBytes} bytes"));
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (default, TooLarge(limits, $"The body exceeds the limit of {limits.MaxBodyBytes} bytes"));
        }
        if (json && JsonText.FindInvalidUtf8(body.Span) is var (field, detail))
        {
            body.Dispose();
            return (default, new BodyFailure(StatusCodes.Status400BadRequest, RpcCodes.InvalidArgument, "Invalid UTF-8 in the JSON body",
                detail, field));
        }
        return (body, null);
    }

    /// <summary>
    /// Reads <paramref name="source"/> to its end into a pooled array, moving to one twice the size whenever it fills.
    /// Batches are commonly over 85,000 bytes, so a fresh array per body was a large object heap allocation: zeroed,
    /// and freed only by a gen2 collection. On any exception the array goes back to the pool.
    /// </summary>
    private static async Task<Buffer> ReadToEndAsync(Stream source, int capacity, CancellationToken ct)
    {
        var array = Rent(capacity);
        var length = 0;
        try
        {
            int read;
            while ((read = await source.ReadAsync(array.AsMemory(length), ct)) > 0)
            {
                length += read;
                if (length < array.Length)
                    continue;
                var larger = Rent(array.Length * 2);
                array.AsSpan(0, length).CopyTo(larger);
                Return(array, length);
                array = larger;
            }
            return new Buffer(array, length);
        }
        catch
        {
            Return(array, length);
            throw;
        }
    }

    private static byte[] Rent(int length) =>
        length <= MaxPooledLength ? ArrayPool<byte>.Shared.Rent(length) : GC.AllocateUninitializedArray<byte>(length);

    /// <summary>
    /// Clears what was written before the array goes back: a body holds prompts and outputs, and a pooled array would
    /// keep the last one for as long as the pool keeps the array. Clearing costs what zeroing a fresh array cost.
    /// </summary>
    private static void Return(byte[] array, int written)
    {
        if (array.Length > MaxPooledLength)
            return;
        array.AsSpan(0, written).Clear();
        ArrayPool<byte>.Shared.Return(array);
    }

    private const string Truncated = "The gzip body is truncated: it ends inside a gzip member, before the member's end.";

    /// <summary>
    /// Takes the sentinel's marker off a gzip body that ended on a complete member, or says why the body is refused
    /// (see <see cref="GzipInput"/>).
    /// </summary>
    private static BodyFailure? GzipEnd(GzipInput input, ref Buffer body, IngestOptions limits)
    {
        var marker = GzipInput.Marker;
        if (input.SentinelRead && body.Span.EndsWith(marker))
        {
            body = body.Shortened(marker.Length);
            return null;
        }
        if (body.Span.Length > limits.MaxBodyBytes)
            return TooLarge(limits, $"The body decompresses to more than {limits.MaxBodyBytes} bytes");
        return InvalidGzip(input.SentinelRead ? Truncated
            : "The body has bytes after the gzip stream that do not start another gzip member (RFC 1952 allows members one after another, nothing else).");
    }

    private static BodyFailure InvalidGzip(string detail) =>
        new(StatusCodes.Status400BadRequest, RpcCodes.InvalidArgument, "Invalid gzip body", detail, "body");

    private static BodyFailure TooLarge(IngestOptions limits, string what) =>
        new(StatusCodes.Status413PayloadTooLarge, RpcCodes.ResourceExhausted, "Request body too large",
            $"{what} (MaxBodyBytes). Send smaller batches.", "body", "MaxBodyBytes", limits.MaxBodyBytes);
}
