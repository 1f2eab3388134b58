using System.Text.Json;
using AgentStack.Access;
using AgentStack.Events;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

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

    private static async Task<Results<Ok<RecordSpansResponse>, ValidationProblem, ProblemHttpResult>> RecordSpansAsync(
        HttpContext http, SpanIngestion ingestion, TimeProvider clock)
    {
        var key = http.User.ApiKey();
        var limits = ingestion.LimitsFor(key.Project);
        if (!http.Request.HasJsonContentType())
            return Problem(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type",
                "Send the batch as application/json.", "Content-Type");

        var (body, failure) = await IngestBody.ReadAsync(http, limits, json: true);
        if (failure is not null)
        {
            ingestion.CountRejected();
            return failure.HttpStatus == StatusCodes.Status400BadRequest
                ? TypedResults.ValidationProblem(new Dictionary<string, string[]> { [failure.Field] = [failure.Detail] },
                    title: "The request body is not a valid span batch")
                : Problem(failure.HttpStatus, failure.Title, failure.Detail, failure.Field, failure.Limit, failure.LimitValue);
        }

        SpanBatchRequest? request;
        try
        {
            request = JsonSerializer.Deserialize(body.Span, JsonContextFor(limits).SpanBatchRequest);
        }
        catch (JsonException e)
        {
            ingestion.CountRejected();
            var (field, detail) = JsonErrors.Describe(e, limits);
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [detail] },
                title: "The request body is not a valid span batch");
        }
        finally
        {
            // The request holds no part of the body: strings are decoded, and RawJsonConverter parses each payload
            // into a document of its own.
            body.Dispose();
        }

        var now = clock.GetUtcNow();
        var (spans, errors) = SpanValidator.Validate(request, limits, now);
        if (errors.Count > 0)
        {
            ingestion.CountRejected();
            return TypedResults.ValidationProblem(errors, title: "Some spans are invalid; nothing was recorded");
        }

        switch (await ingestion.RecordAsync(key.Project, key.KeyId, now, spans, http.RequestAborted))
        {
            case IngestOutcome.Recorded recorded:
                return TypedResults.Ok(new RecordSpansResponse(recorded.Accepted, recorded.Duplicates));
            case IngestOutcome.Conflicted conflicted:
                var conflicts = conflicted.Conflicts;
                var problem = new Microsoft.AspNetCore.Mvc.ProblemDetails
                {
                    Status = conflicted.HttpStatus,
                    Title = "Spans conflict with what is already recorded; nothing was recorded",
                    Detail = string.Join("; ", conflicts.Select(c => $"span {c.SpanId} of trace {c.TraceId}: {c.Reason}")),
                };
                problem.Extensions["conflicts"] = conflicts.Select(c => new { traceId = c.TraceId, spanId = c.SpanId, reason = c.Reason }).ToArray();
                return TypedResults.Problem(problem);
            case IngestOutcome.TooLarge tooLarge:
                return Problem(tooLarge.HttpStatus, "Request body too large", tooLarge.Message, "body", "MaxBodyBytes", limits.MaxBodyBytes);
            case IngestOutcome.Invalid invalid:
                return TypedResults.ValidationProblem(invalid.Errors, title: "Some spans are invalid; nothing was recorded");
            case IngestOutcome.Unavailable unavailable:
                http.Response.Headers.RetryAfter = IngestOutcome.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                return Problem(unavailable.HttpStatus, "Ingestion is temporarily unavailable",
                    "The spans could not be made durable and were not recorded. Retry after the delay in Retry-After.", null);
            default:
                throw new InvalidOperationException("Unknown ingestion outcome.");
        }
    }

    private static ProblemHttpResult Problem(int status, string title, string detail, string? field,
        string? limit = null, long? limitValue = null)
    {
        var problem = new Microsoft.AspNetCore.Mvc.ProblemDetails { Status = status, Title = title, Detail = detail };
        if (field is not null)
            problem.Extensions["field"] = field;
        if (limit is not null)
        {
            problem.Extensions["limit"] = limit;
            problem.Extensions["limitValue"] = limitValue;
        }
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
