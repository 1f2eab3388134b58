using System.Buffers;
using System.Globalization;
using System.Text.Json;
using AgentStack.Events;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;

namespace AgentStack.Queries.Replay;

/// <summary>
/// The Time Machine's source (docs/architecture.md, invariant 5): the trace stream's stored events in
/// stream order, each with its version, position, type, time, hash chain and the data bytes exactly
/// as stored. NDJSON by default; Server-Sent Events with <c>Accept: text/event-stream</c>.
/// </summary>
public static class ReplayEndpoints
{
    public static RouteGroupBuilder MapReplay(this RouteGroupBuilder project)
    {
        project.MapGet("/traces/{traceId}/replay", ReplayAsync)
            .WithName("ReplayTrace")
            .WithSummary("The trace's stored events in order, as NDJSON or SSE")
            .Produces(StatusCodes.Status200OK, contentType: "application/x-ndjson", additionalContentTypes: ["text/event-stream"])
            .ProducesValidationProblem()
            .Produces(StatusCodes.Status404NotFound);
        return project;
    }

    private static async Task<IResult> ReplayAsync(HttpContext http, string project, string traceId, long? fromVersion,
        IEventStore store, CancellationToken ct)
    {
        if (fromVersion is < 1)
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["fromVersion"] = ["fromVersion must be 1 or more"] });

        var stream = TraceStream.Name(project, traceId);
        await using var events = store.ReadStreamAsync(stream, fromVersion ?? 1, ct).GetAsyncEnumerator(ct);
        var hasFirst = await events.MoveNextAsync();
        if (!hasFirst)
        {
            // An existing trace read past its end is an empty replay, not a missing trace.
            var exists = fromVersion > 1 && await store.ReadStreamAsync(stream, 1, ct).AnyAsync(ct);
            if (!exists)
                return TypedResults.NotFound();
        }

        var sse = http.Request.GetTypedHeaders().Accept.Any(a => a.MediaType.Equals("text/event-stream", StringComparison.OrdinalIgnoreCase));
        var response = http.Response;
        response.ContentType = sse ? "text/event-stream" : "application/x-ndjson";
        response.Headers.CacheControl = "no-cache";
        response.Headers[HeaderNames.XContentTypeOptions] = "nosniff";
        var body = response.BodyWriter;
        using var writer = new Utf8JsonWriter(body, new JsonWriterOptions { SkipValidation = true });
        var count = 0;
        while (hasFirst)
        {
            var e = events.Current;
            if (sse)
            {
                body.Write(System.Text.Encoding.UTF8.GetBytes(
                    $"id: {e.Version.ToString(CultureInfo.InvariantCulture)}\nevent: {e.Type}\ndata: "));
            }
            WriteEvent(writer, e);
#pragma warning disable CA1849 // the writer only advances the pipe's buffer; FlushAsync below sends it
            writer.Flush();
#pragma warning restore CA1849
            writer.Reset();
            body.Write(sse ? "\n\n"u8 : "\n"u8);
            if (++count % 64 == 0)
                await body.FlushAsync(ct);
            hasFirst = await events.MoveNextAsync();
        }
        if (sse)
            body.Write("event: end\ndata: {}\n\n"u8);
        await body.FlushAsync(ct);
        return TypedResults.Empty;
    }

    private static void WriteEvent(Utf8JsonWriter w, StoredEvent e)
    {
        w.WriteStartObject();
        w.WriteNumber("version", e.Version);
        w.WriteNumber("position", e.Position);
        w.WriteString("type", e.Type);
        w.WriteString("recordedAt", e.RecordedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture));
        w.WriteString("hash", e.Hash);
        w.WriteString("prevHash", e.PrevHash);
        w.WritePropertyName("data");
        w.WriteRawValue(e.Data, skipInputValidation: true);
        w.WriteEndObject();
    }
}
