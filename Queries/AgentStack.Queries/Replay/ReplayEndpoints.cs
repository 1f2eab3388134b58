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
/// With <c>?follow=true</c> (issue 16) the response stays open after the stored events and pushes each event
/// appended to the trace as it is appended, until the run is over (its root span completed and no span left open),
/// the client goes away, or <see cref="MaxFollow"/> passes; a comment line every <see cref="Heartbeat"/> keeps
/// proxies from closing a quiet stream.
/// </summary>
public static class ReplayEndpoints
{
    public static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(15);
    public static readonly TimeSpan MaxFollow = TimeSpan.FromHours(1);

    public static RouteGroupBuilder MapReplay(this RouteGroupBuilder project)
    {
        project.MapGet("/traces/{traceId}/replay", ReplayAsync)
            .WithName("ReplayTrace")
            .WithSummary("The trace's stored events in order, as NDJSON or SSE; ?follow=true keeps pushing new events while the run goes on")
            .Produces(StatusCodes.Status200OK, contentType: "application/x-ndjson", additionalContentTypes: ["text/event-stream"])
            .ProducesValidationProblem()
            .Produces(StatusCodes.Status404NotFound);
        return project;
    }

    private static async Task<IResult> ReplayAsync(HttpContext http, string project, string traceId, long? fromVersion, bool? follow,
        IEventStore store, CancellationToken ct)
    {
        if (fromVersion is < 1)
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["fromVersion"] = ["fromVersion must be 1 or more"] });

        var stream = TraceStream.Name(project, traceId);
        // Taken before the first read, so an event appended while the stored ones stream out is not missed.
        var followedPosition = follow == true ? await store.GetLastPositionAsync(ct) : 0;
        await using var events = store.ReadStreamAsync(stream, fromVersion ?? 1, ct).GetAsyncEnumerator(ct);
        var hasFirst = await events.MoveNextAsync();
        // An existing trace read past its end is an empty replay, not a missing trace.
        var first = hasFirst ? events.Current : fromVersion > 1 ? await store.ReadStreamAsync(stream, 1, ct).FirstOrDefaultAsync(ct) : null;
        // The name may spell another project's trace (TraceStream): that one is not this project's to read.
        if (first is null || TraceStream.ProjectOf(first.Data) is { } owner && owner != project)
            return TypedResults.NotFound();

        var sse = http.Request.GetTypedHeaders().Accept.Any(a => a.MediaType.Equals("text/event-stream", StringComparison.OrdinalIgnoreCase));
        var response = http.Response;
        response.ContentType = sse ? "text/event-stream" : "application/x-ndjson";
        response.Headers.CacheControl = "no-cache";
        response.Headers[HeaderNames.XContentTypeOptions] = "nosniff";
        var body = response.BodyWriter;
        // SSE: the event is written aside first, to be cut into data lines (WriteDataLines).
        var sseEvent = sse ? new ArrayBufferWriter<byte>() : null;
        using var writer = new Utf8JsonWriter(sseEvent ?? (IBufferWriter<byte>)body, new JsonWriterOptions { SkipValidation = true });
        void Write(StoredEvent e)
        {
            WriteEvent(writer, e);
#pragma warning disable CA1849 // the writer only advances the pipe's buffer; FlushAsync sends it
            writer.Flush();
#pragma warning restore CA1849
            writer.Reset();
            if (sseEvent is not null)
            {
                body.Write(System.Text.Encoding.UTF8.GetBytes(
                    $"id: {e.Version.ToString(CultureInfo.InvariantCulture)}\nevent: {e.Type}\n"));
                WriteDataLines(body, sseEvent.WrittenSpan);
                sseEvent.ResetWrittenCount();
            }
            body.Write(sse ? "\n\n"u8 : "\n"u8);
        }

        var run = new RunProgress();
        if (follow == true && fromVersion > 1)
        {
            // Whether the run is over depends on the spans started before fromVersion too: a span started there and
            // still open keeps the stream going even when the root completes in the part the client asked for.
            await foreach (var e in store.ReadStreamAsync(stream, 1, ct))
            {
                if (e.Version >= fromVersion)
                    break;
                run.Observe(e);
            }
        }

        var count = 0;
        var lastVersion = (fromVersion ?? 1) - 1;
        while (hasFirst)
        {
            var e = events.Current;
            run.Observe(e);
            lastVersion = e.Version;
            Write(e);
            if (++count % 64 == 0)
                await body.FlushAsync(ct);
            hasFirst = await events.MoveNextAsync();
        }
        if (follow == true)
        {
            await body.FlushAsync(ct);
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
            limit.CancelAfter(MaxFollow);
            try
            {
                while (!run.IsOver)
                {
                    try
                    {
                        await store.WaitForEventsAfterAsync(followedPosition, limit.Token).WaitAsync(Heartbeat, limit.Token);
                    }
                    catch (TimeoutException)
                    {
                        body.Write(sse ? ": keep-alive\n\n"u8 : "\n"u8);
                        await body.FlushAsync(limit.Token);
                        continue;
                    }
                    followedPosition = await store.GetLastPositionAsync(limit.Token);
                    await foreach (var e in store.ReadStreamAsync(stream, lastVersion + 1, limit.Token))
                    {
                        run.Observe(e);
                        lastVersion = e.Version;
                        Write(e);
                    }
                    await body.FlushAsync(limit.Token);
                }
            }
            catch (OperationCanceledException) when (limit.IsCancellationRequested)
            {
                // The client went away, or the follow reached its limit: end the stream as a finished one would.
                if (ct.IsCancellationRequested)
                    return TypedResults.Empty;
            }
        }
        if (sse)
            body.Write("event: end\ndata: {}\n\n"u8);
        await body.FlushAsync(ct);
        return TypedResults.Empty;
    }

    /// <summary>
    /// The event as SSE data lines: payloads are stored as sent, so one sent pretty-printed holds line breaks (between
    /// its tokens), and a line that does not start with <c>data:</c> is dropped by every SSE reader. The reader joins the
    /// data lines with \n.
    /// </summary>
    private static void WriteDataLines(IBufferWriter<byte> body, ReadOnlySpan<byte> json)
    {
        body.Write("data: "u8);
        for (var i = json.IndexOfAny((byte)'\r', (byte)'\n'); i >= 0; i = json.IndexOfAny((byte)'\r', (byte)'\n'))
        {
            body.Write(json[..i]);
            body.Write("\ndata: "u8);
            json = json[(json[i] == '\r' && i + 1 < json.Length && json[i + 1] == '\n' ? i + 2 : i + 1)..];
        }
        body.Write(json);
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

    /// <summary>
    /// Whether a followed run is over: its root span completed and no started span left open. Read from the
    /// stored events' ids only (never their payloads).
    /// </summary>
    private sealed class RunProgress
    {
        private readonly HashSet<string> open = new(StringComparer.Ordinal);
        private bool rootCompleted;

        public bool IsOver => rootCompleted && open.Count == 0;

        public void Observe(StoredEvent e)
        {
            var started = e.Type == EventTypes.SpanStarted;
            if (!started && e.Type != EventTypes.SpanCompleted)
                return;
            var reader = new Utf8JsonReader(e.Data);
            string? spanId = null;
            var hasParent = false;
            var depth = 0;
            var inSpan = false;
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        depth++;
                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        depth--;
                        if (inSpan && depth == 1)
                            inSpan = false;
                        break;
                    case JsonTokenType.PropertyName when depth == 1 && reader.ValueTextEquals("span"):
                        inSpan = true;
                        break;
                    case JsonTokenType.PropertyName when inSpan && depth == 2 && reader.ValueTextEquals("spanId"):
                        reader.Read();
                        spanId = reader.GetString();
                        break;
                    case JsonTokenType.PropertyName when inSpan && depth == 2 && reader.ValueTextEquals("parentSpanId"):
                        reader.Read();
                        hasParent = reader.TokenType == JsonTokenType.String;
                        break;
                }
            }
            if (spanId is null)
                return;
            if (started)
                open.Add(spanId);
            else
            {
                open.Remove(spanId);
                if (!hasParent)
                    rootCompleted = true;
            }
        }
    }
}
