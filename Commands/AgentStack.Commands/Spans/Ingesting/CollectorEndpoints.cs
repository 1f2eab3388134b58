using System.IO.Compression;
using System.Text.Json;
using AgentStack.Access;
using AgentStack.Commands.Spans.RecordingSpans;
using AgentStack.Events;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentStack.Commands.Spans.Ingesting;

public static class CollectorEndpoints
{
    public static RouteGroupBuilder MapCollector(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1").WithTags("Ingestion").RequireAuthorization(Scopes.Ingest);
        group.MapPost("/spans", RecordSpansAsync)
            .WithName("RecordSpans")
            .WithSummary("Record a batch of spans; answers once they are durable")
            // Not .Accepts<T>(): that would make routing drop the endpoint for other content types and
            // answer 404 or fall through; the handler answers an explicit 415 instead.
            .AddOpenApiOperationTransformer(async (operation, context, ct) =>
            {
                var schema = await context.GetOrCreateSchemaAsync(typeof(SpanBatchRequest), null, ct);
                operation.RequestBody = new Microsoft.OpenApi.OpenApiRequestBody
                {
                    Required = true,
                    Content = new Dictionary<string, Microsoft.OpenApi.OpenApiMediaType> { ["application/json"] = new() { Schema = schema } },
                };
            })
            .Produces<RecordSpansResponse>()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return group;
    }

    /// <summary>The first raw JSON field (input, output, attributes) of the batch whose bytes are not valid UTF-8.</summary>
    private static string? FirstInvalidUtf8(SpanBatchRequest? request)
    {
        var spans = request?.Spans ?? [];
        for (var i = 0; i < spans.Count; i++)
        {
            if (spans[i] is not { } span)
                continue;
            if (span.Input is { } input && !Utf8Text.IsValid(input))
                return $"spans[{i}].input";
            if (span.Output is { } output && !Utf8Text.IsValid(output))
                return $"spans[{i}].output";
            if (span.Attributes is { } attributes && !Utf8Text.IsValid(attributes))
                return $"spans[{i}].attributes";
        }
        return null;
    }

    private static async Task<Results<Ok<RecordSpansResponse>, ValidationProblem, ProblemHttpResult>> RecordSpansAsync(
        HttpContext http, IRequestClient<RecordSpans> bus, IOptions<IngestOptions> options, IngestMetrics metrics,
        TimeProvider clock, ILoggerFactory loggers)
    {
        var limits = options.Value;
        var ct = http.RequestAborted;
        if (!http.Request.HasJsonContentType())
            return Problem(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type",
                "Send the batch as application/json.", "Content-Type");

        if (http.Request.ContentLength > limits.MaxBodyBytes)
            return TooLarge(http.Request.ContentLength.Value, limits);
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
            sizeFeature.MaxRequestBodySize = limits.MaxBodyBytes;

        var encoding = http.Request.Headers.ContentEncoding.ToString();
        var gzip = encoding.Equals("gzip", StringComparison.OrdinalIgnoreCase);
        if (!gzip && encoding.Length > 0 && !encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
            return Problem(StatusCodes.Status415UnsupportedMediaType, "Unsupported content encoding",
                $"Content-Encoding '{encoding}' is not supported: send gzip or no encoding.", "Content-Encoding");

        SpanBatchRequest? request;
        try
        {
            // SDKs gzip their batches. The inflated body is held to the same limit as a plain one, so a
            // small compressed body cannot inflate past it.
            var body = gzip
                ? new LimitedReadStream(new GZipStream(http.Request.Body, CompressionMode.Decompress, leaveOpen: true), limits.MaxBodyBytes)
                : http.Request.Body;
            await using var inflater = gzip ? body : null; // the request's own body is not ours to dispose
            request = await JsonSerializer.DeserializeAsync(body, JsonContextFor(limits).SpanBatchRequest, ct);
        }
        catch (InvalidDataException)
        {
            metrics.Rejected.Add(1);
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["body"] = ["the body is not valid gzip"] },
                title: "The request body is not a valid span batch");
        }
        catch (JsonException e)
        {
            metrics.Rejected.Add(1);
            var (field, detail) = JsonErrors.Describe(e, limits);
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [detail] },
                title: "The request body is not a valid span batch");
        }
        catch (Exception e) when (e is LimitedReadStream.LimitExceededException
            || (e is BadHttpRequestException bad && bad.StatusCode == StatusCodes.Status413PayloadTooLarge))
        {
            metrics.Rejected.Add(1);
            return TooLarge(null, limits);
        }

        // Issue 17, item 5: payloads are kept as the raw bytes received, so invalid UTF-8 in them (or in an
        // attribute key) is refused here, before validation reads them as text (Utf8Text).
        if (FirstInvalidUtf8(request) is { } invalid)
        {
            metrics.Rejected.Add(1);
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { [invalid] = [$"{invalid} is not valid UTF-8"] },
                title: "The request body is not a valid span batch");
        }

        var now = clock.GetUtcNow();
        var (spans, errors) = SpanValidator.Validate(request, limits, now);
        if (errors.Count > 0)
        {
            metrics.Rejected.Add(1);
            return TypedResults.ValidationProblem(errors, title: "Some spans are invalid; nothing was recorded");
        }

        var key = http.User.ApiKey();
        var command = new RecordSpans(NewId.NextGuid(), key.Project, key.KeyId, now, spans);
        try
        {
            // MassTransit's request timeout only starts once the command is sent, and sending waits (without
            // observing cancellation) while the broker is away. WaitAsync bounds the whole round trip, so a
            // client never waits longer than CommandTimeout; a command sent late is still idempotent.
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
            deadline.CancelAfter(limits.CommandTimeout);
            var response = await bus.GetResponse<SpansRecorded, SpansConflicted>(command, deadline.Token,
                    RequestTimeout.After(ms: (int)limits.CommandTimeout.TotalMilliseconds))
                .WaitAsync(limits.CommandTimeout, ct);
            if (response.Is(out Response<SpansRecorded>? recorded))
                return TypedResults.Ok(new RecordSpansResponse(recorded.Message.Accepted, recorded.Message.Duplicates));

            response.Is(out Response<SpansConflicted>? conflicted);
            var conflicts = conflicted!.Message.Conflicts;
            var problem = new Microsoft.AspNetCore.Mvc.ProblemDetails
            {
                Status = StatusCodes.Status409Conflict,
                Title = "Spans conflict with what is already recorded; nothing was recorded",
                Detail = string.Join("; ", conflicts.Select(c => $"span {c.SpanId} of trace {c.TraceId}: {c.Reason}")),
            };
            problem.Extensions["conflicts"] = conflicts.Select(c => new { traceId = c.TraceId, spanId = c.SpanId, reason = c.Reason }).ToArray();
            return TypedResults.Problem(problem);
        }
        catch (Exception e) when (IsUnavailable(e) || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            loggers.CreateLogger(typeof(CollectorEndpoints)).LogWarning(e, "Spans could not be made durable; answering 503");
            http.Response.Headers.RetryAfter = "5";
            return Problem(StatusCodes.Status503ServiceUnavailable, "Ingestion is temporarily unavailable",
                "The spans could not be made durable and were not recorded. Retry after the delay in Retry-After.", null);
        }
    }

    private static bool IsUnavailable(Exception e) => e switch
    {
        RequestTimeoutException => true,
        TimeoutException => true,
        EventStoreUnavailableException => true,
        RequestFaultException f => f.Fault?.Exceptions.Any(x => x.ExceptionType == typeof(EventStoreUnavailableException).FullName) == true,
        _ => false,
    };

    private static ProblemHttpResult TooLarge(long? size, IngestOptions limits) =>
        Problem(StatusCodes.Status413PayloadTooLarge, "Request body too large",
            size is { } s
                ? $"The body is {s} bytes; the limit is {limits.MaxBodyBytes} bytes (AgentStack:Ingest:MaxBodyBytes). Send smaller batches."
                : $"The body exceeds the limit of {limits.MaxBodyBytes} bytes (AgentStack:Ingest:MaxBodyBytes). Send smaller batches.",
            "body");

    private static ProblemHttpResult Problem(int status, string title, string detail, string? field)
    {
        var problem = new Microsoft.AspNetCore.Mvc.ProblemDetails { Status = status, Title = title, Detail = detail };
        if (field is not null)
            problem.Extensions["field"] = field;
        return TypedResults.Problem(problem);
    }

    private static IngestJsonContext? cachedContext;

    /// <summary>The request's parse depth is the payload limit plus the batch's own levels (body, spans, span).</summary>
    private static IngestJsonContext JsonContextFor(IngestOptions limits)
    {
        var context = cachedContext;
        if (context is null || context.Options.MaxDepth != limits.MaxDepth + 4)
        {
            context = new IngestJsonContext(new JsonSerializerOptions(IngestJsonContext.Default.Options) { MaxDepth = limits.MaxDepth + 4 });
            cachedContext = context;
        }
        return context;
    }
}
