using System.Buffers;
using System.Text.Json;
using AgentStack.Access;
using AgentStack.Events;
using AgentStack.Commands.Spans.Ingesting;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using OpenTelemetry.Proto.Collector.Trace.V1;
using RpcStatus = Google.Rpc.Status;

namespace AgentStack.Otlp.Receiving;

/// <summary>
/// OTLP/HTTP traces (OTLP spec, "OTLP/HTTP"): <c>POST /v1/traces</c> with a binary protobuf or JSON
/// <c>ExportTraceServiceRequest</c>, optionally gzip-compressed. Success is 200 with an
/// <c>ExportTraceServiceResponse</c> in the request's encoding; every failure carries a <c>google.rpc.Status</c>
/// in the request's encoding, whose message names the span and the field. A JSON failure body is at the same time
/// a ProblemDetails (<c>title</c>, <c>status</c>, <c>errors</c> by field), as the native collector answers.
/// </summary>
public static class OtlpHttpEndpoints
{
    private const string Protobuf = "application/x-protobuf";
    private const string Json = "application/json";

    public static RouteHandlerBuilder MapOtlpHttp(this IEndpointRouteBuilder app) =>
        app.MapPost("/v1/traces", ExportAsync)
            .WithTags("Ingestion")
            .WithName("ExportOtlpTraces")
            .WithSummary("OTLP/HTTP trace export (protobuf or JSON, gzip allowed); answers once the spans are durable")
            .RequireAuthorization(Scopes.Ingest)
            // No .Accepts(): its content-type matcher policy would let another endpoint (the dashboard's fallback)
            // answer a wrong Content-Type with 404; the handler answers 415 itself, as OTLP expects.
            .WithDescription("Body: an OTLP ExportTraceServiceRequest as application/x-protobuf or application/json (OTLP/JSON), optionally Content-Encoding: gzip.")
            .Produces(StatusCodes.Status200OK, contentType: Protobuf, additionalContentTypes: [Json])
            .Produces(StatusCodes.Status400BadRequest, contentType: Protobuf, additionalContentTypes: [Json])
            .Produces(StatusCodes.Status409Conflict, contentType: Protobuf, additionalContentTypes: [Json])
            .Produces(StatusCodes.Status413PayloadTooLarge, contentType: Protobuf, additionalContentTypes: [Json])
            .Produces(StatusCodes.Status415UnsupportedMediaType, contentType: Json)
            .Produces(StatusCodes.Status503ServiceUnavailable, contentType: Protobuf, additionalContentTypes: [Json]);

    private static async Task<IResult> ExportAsync(HttpContext http, OtlpIngestor ingestor)
    {
        var (project, keyId) = http.User.ApiKey();
        var limits = ingestor.Ingestion.LimitsFor(project);
        var ct = http.RequestAborted;
        var mediaType = MediaTypeHeaderValue.TryParse(http.Request.ContentType, out var parsed) ? parsed.MediaType.Value : null;
        var json = string.Equals(mediaType, Json, StringComparison.OrdinalIgnoreCase);
        if (!json && !string.Equals(mediaType, Protobuf, StringComparison.OrdinalIgnoreCase)
            && !string.Equals(mediaType, "application/protobuf", StringComparison.OrdinalIgnoreCase))
            return Failure(true, StatusCodes.Status415UnsupportedMediaType, Code.InvalidArgument, "Unsupported media type",
                $"Content-Type '{http.Request.ContentType}' is not supported: send {Protobuf} or {Json} (OTLP/HTTP).", "Content-Type");

        var (body, failure) = await IngestBody.ReadAsync(http, limits, json);
        if (failure is not null)
        {
            ingestor.Ingestion.CountRejected();
            return Failure(json, failure.HttpStatus, (Code)failure.RpcCode, failure.Title,
                failure.Detail.Replace("Send smaller batches.", "Export smaller batches.", StringComparison.Ordinal), failure.Field);
        }

        ExportTraceServiceRequest request;
        try
        {
            request = json
                ? OtlpJson.Parse(body.Span, limits.MaxDepth * 4 + 16)
                : ExportTraceServiceRequest.Parser.ParseFrom(body.Span);
        }
        catch (InvalidProtocolBufferException e)
        {
            return Failure(json, StatusCodes.Status400BadRequest, Code.InvalidArgument, "Invalid protobuf body",
                $"The body is not a valid OTLP ExportTraceServiceRequest (truncated or corrupt protobuf): {e.Message}", "body");
        }
        catch (OtlpBadRequestException e)
        {
            return Failure(json, StatusCodes.Status400BadRequest, Code.InvalidArgument, "Invalid OTLP/JSON body", e.Message, e.Field);
        }
        finally
        {
            // Both parsers copy what they keep: protobuf strings and bytes fields into strings and ByteStrings of their
            // own, OTLP/JSON through a JsonNode tree and a string of its own.
            body.Dispose();
        }

        var outcome = await ingestor.IngestAsync(request, project, keyId, ct);
        switch (outcome)
        {
            case IngestOutcome.Recorded recorded:
                var response = new ExportTraceServiceResponse();
                if (recorded.Duplicates > 0)
                    response.PartialSuccess = new ExportTracePartialSuccess
                    {
                        // OTLP: rejected 0 with a message is a warning; re-sends are accepted, not rejected.
                        ErrorMessage = $"{recorded.Duplicates} of {recorded.Accepted + recorded.Duplicates} spans were already recorded; they were accepted as idempotent re-sends",
                    };
                return new OtlpResult(StatusCodes.Status200OK, json, response, null, null);
            case IngestOutcome.Invalid invalid:
                return Failure(json, invalid.HttpStatus, (Code)invalid.RpcCode, "Some spans are invalid; nothing was recorded",
                    invalid.Message, null, invalid.Errors);
            case IngestOutcome.TooLarge tooLarge:
                return Failure(json, tooLarge.HttpStatus, (Code)tooLarge.RpcCode, "Request body too large", tooLarge.Message, "body");
            case IngestOutcome.Conflicted conflicted:
                return Failure(json, conflicted.HttpStatus, (Code)conflicted.RpcCode,
                    "Spans conflict with what is already recorded; nothing was recorded", conflicted.Message, null,
                    conflicted.Conflicts.ToDictionary(c => $"traceId {c.TraceId} spanId {c.SpanId}", c => new[] { c.Reason }));
            default:
                var unavailable = (IngestOutcome.Unavailable)outcome;
                return Failure(json, unavailable.HttpStatus, (Code)unavailable.RpcCode, "Ingestion is temporarily unavailable",
                    unavailable.Message, null, retryAfterSeconds: IngestOutcome.RetryAfterSeconds);
        }
    }

    private static OtlpResult Failure(bool json, int httpStatus, Code code, string title, string detail, string? field,
        Dictionary<string, string[]>? errors = null, int? retryAfterSeconds = null)
    {
        var status = new RpcStatus { Code = (int)code, Message = detail };
        return new OtlpResult(httpStatus, json, status, retryAfterSeconds, w =>
        {
            // The google.rpc.Status fields OTLP requires, plus ProblemDetails fields (ignored by OTLP clients).
            w.WriteNumber("code", (int)code);
            w.WriteString("message", detail);
            w.WriteStartArray("details");
            w.WriteEndArray();
            w.WriteString("title", title);
            w.WriteNumber("status", httpStatus);
            w.WriteString("detail", detail);
            if (field is not null)
                w.WriteString("field", field);
            if (errors is { Count: > 0 })
            {
                w.WriteStartObject("errors");
                foreach (var (key, messages) in errors)
                {
                    w.WriteStartArray(key);
                    foreach (var m in messages)
                        w.WriteStringValue(m);
                    w.WriteEndArray();
                }
                w.WriteEndObject();
            }
        });
    }

    /// <summary>google.rpc.Code values OTLP uses.</summary>
    internal enum Code
    {
        InvalidArgument = 3,
        AlreadyExists = 6,
        ResourceExhausted = 8,
        Unavailable = 14,
    }

    /// <summary>An OTLP answer: the message in protobuf, or in JSON (for failures, the Status+ProblemDetails object).</summary>
    private sealed class OtlpResult(int status, bool json, IMessage message, int? retryAfterSeconds, Action<Utf8JsonWriter>? jsonFailure) : IResult
    {
        public async Task ExecuteAsync(HttpContext http)
        {
            http.Response.StatusCode = status;
            if (retryAfterSeconds is { } seconds)
                http.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (!json)
            {
                http.Response.ContentType = Protobuf;
                var bytes = message.ToByteArray();
                http.Response.ContentLength = bytes.Length;
                await http.Response.Body.WriteAsync(bytes, http.RequestAborted);
                return;
            }
            http.Response.ContentType = Json;
            if (jsonFailure is null)
            {
                await http.Response.WriteAsync(OtlpJson.Format(message), http.RequestAborted);
                return;
            }
            var buffer = new ArrayBufferWriter<byte>();
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                jsonFailure(w);
                w.WriteEndObject();
            }
            http.Response.ContentLength = buffer.WrittenCount;
            await http.Response.Body.WriteAsync(buffer.WrittenMemory, http.RequestAborted);
        }
    }
}
