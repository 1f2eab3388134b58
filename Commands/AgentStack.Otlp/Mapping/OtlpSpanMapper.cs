using System.Globalization;
using System.Text.Json;
using AgentStack.Commands.Spans.Ingesting;
using AgentStack.Events;
using AgentStack.Otlp.Pricing;
using Google.Protobuf;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Trace.V1;
using OtlpSpan = OpenTelemetry.Proto.Trace.V1.Span;

namespace AgentStack.Otlp.Mapping;

/// <summary>
/// Maps an OTLP export request onto native span JSON (<see cref="SpanJson"/>), which then goes through the native
/// collector's <see cref="SpanValidator"/> with the same limits, so both ingestion paths record the very same
/// <see cref="SpanRecord"/>s. Ids become lower-case hex, unix nanoseconds RFC 3339 microseconds; the GenAI
/// families are read in <see cref="GenAiConventions"/>. The mapping is a pure function of the request and the
/// price table, so a re-sent export maps to identical records and is recognised as a duplicate.
/// </summary>
public static class OtlpSpanMapper
{
    /// <summary>Where a span sat in the request, for error messages: <c>resourceSpans[0].scopeSpans[1].spans[7]</c>.</summary>
    public sealed record SpanLocation(string Path, string Name, string? SpanId);

    public sealed record MappingResult(
        IReadOnlyList<SpanRecord> Spans,
        Dictionary<string, string[]> Errors,
        int SpanCount);

    /// <summary>
    /// Maps and validates a whole request. Any error anywhere rejects the whole request (nothing partial is
    /// written, issue 5); each error is keyed by the OTLP path of its span and names the span and the field.
    /// </summary>
    public static MappingResult Map(ExportTraceServiceRequest request, string project, PriceTable prices,
        IngestOptions limits, DateTimeOffset now)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var spans = new List<SpanJson?>();
        // Where each span sat, turned into a SpanLocation (strings, hex) only when an error has to name it.
        var places = new List<(int R, int S, int I, OtlpSpan Span)>();
        using var payloads = new SpanPayloads();
        for (var r = 0; r < request.ResourceSpans.Count; r++)
        {
            var resourceSpans = request.ResourceSpans[r];
            // The resource's and scope's attributes are the same for each of their spans: written to JSON once.
            var resource = resourceSpans.Resource is { Attributes.Count: > 0 } res ? ObjectJson(res.Attributes) : null;
            for (var s = 0; s < resourceSpans.ScopeSpans.Count; s++)
            {
                var scopeSpans = resourceSpans.ScopeSpans[s];
                var scopeAttributes = scopeSpans.Scope is { Attributes.Count: > 0 } scope ? ObjectJson(scope.Attributes) : null;
                for (var i = 0; i < scopeSpans.Spans.Count; i++)
                {
                    var span = scopeSpans.Spans[i];
                    places.Add((r, s, i, span));
                    if (!IdsValid(span))
                    {
                        var location = Locate(places[^1]);
                        foreach (var (field, message) in CheckIds(span))
                            errors[$"{location.Path}.{field}"] = [$"{Describe(location)}: {message}"];
                        spans.Add(null);
                    }
                    else if (errors.Count == 0)
                    {
                        spans.Add(MapSpan(span, scopeSpans, resource, scopeAttributes, project, prices, payloads));
                    }
                    else
                    {
                        // The request is refused already; the remaining spans are only checked for id errors.
                        spans.Add(null);
                    }
                }
            }
        }

        if (spans.Count == 0)
        {
            errors["resourceSpans"] = ["the request holds no spans"];
            return new MappingResult([], errors, 0);
        }
        if (spans.Count > limits.MaxSpansPerBatch)
        {
            errors["resourceSpans"] = [$"the request holds {spans.Count} spans; the limit is {limits.MaxSpansPerBatch} per request (MaxSpansPerBatch)"];
            return new MappingResult([], errors, spans.Count);
        }
        if (errors.Count > 0)
            return new MappingResult([], errors, spans.Count);

        payloads.AttachTo(spans);
        var (records, validation) = SpanValidator.Validate(new SpanBatchRequest { Spans = spans }, limits, now);
        foreach (var (key, messages) in validation)
        {
            // "spans[3].startTime" → "resourceSpans[0].scopeSpans[0].spans[3].startTimeUnixNano", naming the span.
            var (index, field) = SplitNativeKey(key);
            var location = index >= 0 && index < places.Count ? Locate(places[index]) : null;
            var path = location is null ? key : $"{location.Path}.{OtlpField(field)}";
            errors[path] = messages.Select(m => location is null ? m : $"{Describe(location)}: {m}").ToArray();
        }
        return new MappingResult(errors.Count > 0 ? [] : records, errors, spans.Count);
    }

    private static SpanLocation Locate((int R, int S, int I, OtlpSpan Span) place) =>
        new($"resourceSpans[{place.R}].scopeSpans[{place.S}].spans[{place.I}]", place.Span.Name, ValidHex(place.Span.SpanId, 8));

    private static byte[] ObjectJson(Google.Protobuf.Collections.RepeatedField<OpenTelemetry.Proto.Common.V1.KeyValue> attributes)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, JsonText.WriterOptions))
            OtlpAttributes.WriteObject(w, attributes);
        return buffer.WrittenSpan.ToArray();
    }

    private static string Describe(SpanLocation l) =>
        $"span '{Truncate(l.Name)}'" + (l.SpanId is null ? "" : $" (spanId {l.SpanId})");

    private static (int Index, string Field) SplitNativeKey(string key)
    {
        if (!key.StartsWith("spans[", StringComparison.Ordinal))
            return (-1, key);
        var close = key.IndexOf(']', StringComparison.Ordinal);
        var index = int.Parse(key.AsSpan(6, close - 6), CultureInfo.InvariantCulture);
        return (index, close + 2 <= key.Length ? key[Math.Min(close + 2, key.Length)..] : "");
    }

    /// <summary>Native field names back to the OTLP names a sender knows.</summary>
    private static string OtlpField(string field) => field switch
    {
        "startTime" => "startTimeUnixNano",
        "endTime" => "endTimeUnixNano",
        "statusMessage" => "status.message",
        "model" => "attributes[gen_ai.request.model]",
        "provider" => "attributes[gen_ai.provider.name]",
        "inputTokens" => "attributes[gen_ai.usage.input_tokens]",
        "outputTokens" => "attributes[gen_ai.usage.output_tokens]",
        "input" => "input (mapped from the span's input messages/attributes)",
        "output" => "output (mapped from the span's output messages/attributes)",
        _ => field,
    };

    private static bool IdsValid(OtlpSpan span) =>
        span.TraceId.Length == 16 && !IsZero(span.TraceId) && span.SpanId.Length == 8 && !IsZero(span.SpanId)
        && span.ParentSpanId.Length is 0 or 8;

    /// <summary>OTLP ids are fixed-size byte strings; an all-zero id is invalid (W3C trace context).</summary>
    private static List<(string Field, string Message)> CheckIds(OtlpSpan span)
    {
        var errors = new List<(string, string)>();
        if (span.TraceId.Length != 16)
            errors.Add(("traceId", $"traceId is {span.TraceId.Length} bytes; it must be 16 bytes (32 hex characters)"));
        else if (IsZero(span.TraceId))
            errors.Add(("traceId", "traceId is all zeros, which is invalid"));
        if (span.SpanId.Length != 8)
            errors.Add(("spanId", $"spanId is {span.SpanId.Length} bytes; it must be 8 bytes (16 hex characters)"));
        else if (IsZero(span.SpanId))
            errors.Add(("spanId", "spanId is all zeros, which is invalid"));
        if (span.ParentSpanId.Length is not (0 or 8))
            errors.Add(("parentSpanId", $"parentSpanId is {span.ParentSpanId.Length} bytes; it must be empty (a root span) or 8 bytes"));
        return errors;
    }

    private static bool IsZero(ByteString id)
    {
        foreach (var b in id.Span)
            if (b != 0)
                return false;
        return true;
    }

    private static string? ValidHex(ByteString id, int length) =>
        id.Length == length ? Convert.ToHexStringLower(id.Span) : null;

    private static SpanJson MapSpan(OtlpSpan span, ScopeSpans scopeSpans, byte[]? resource, byte[]? scopeAttributes,
        string project, PriceTable prices, SpanPayloads payloads)
    {
        var attributes = new OtlpAttributes(span.Attributes);
        var start = FromUnixNanos(span.StartTimeUnixNano);
        DateTimeOffset? end = span.EndTimeUnixNano == 0 ? null : FromUnixNanos(span.EndTimeUnixNano);
        var genAi = GenAiConventions.Read(span, attributes);

        var status = span.Status?.Code switch
        {
            Status.Types.StatusCode.Error => SpanStatuses.Error,
            Status.Types.StatusCode.Ok => SpanStatuses.Ok,
            _ => genAi.Failed ? SpanStatuses.Error : SpanStatuses.Ok,
        };
        var statusMessage = span.Status?.Message is { Length: > 0 } message ? message : status == SpanStatuses.Error ? genAi.ErrorMessage : null;

        var cost = genAi.CostUsd;
        PricedCost? priced = null;
        if (cost is null && prices.Price(project, genAi.Model, genAi.InputTokens, genAi.OutputTokens, FromUnixNanosExact(span.StartTimeUnixNano)) is { } p)
        {
            priced = p;
            cost = decimal.Round(p.CostUsd, 12);
        }

        // Input, output and attributes go to the request's payloads; SpanPayloads.AttachTo sets them on the span.
        var w = payloads.BeginSpan(genAi.Input, genAi.Output);
        WriteAttributes(w, span, attributes, genAi, scopeSpans, resource, scopeAttributes, priced);
        payloads.EndSpan();

        var name = span.Name.Length > 0 ? span.Name : genAi.OperationName ?? "span";
        return new SpanJson
        {
            TraceId = Convert.ToHexStringLower(span.TraceId.Span),
            SpanId = Convert.ToHexStringLower(span.SpanId.Span),
            ParentSpanId = span.ParentSpanId.Length == 0 || IsZero(span.ParentSpanId) ? null : Convert.ToHexStringLower(span.ParentSpanId.Span),
            Name = name,
            Kind = genAi.Kind,
            StartTime = Format(start),
            EndTime = end is { } e ? Format(e) : null,
            Status = status,
            StatusMessage = statusMessage,
            Model = genAi.Model,
            Provider = genAi.Provider,
            InputTokens = genAi.InputTokens,
            OutputTokens = genAi.OutputTokens,
            CostUsd = cost,
        };
    }

    /// <summary>
    /// The span's attributes that were not moved into a first-class field, by their OTLP names, then the OTLP data
    /// that has no native field, under the <c>otel.</c> names OpenTelemetry reserves for it: <c>otel.span_kind</c>,
    /// <c>otel.scope.name</c>/<c>.version</c>/<c>.attributes</c>, <c>otel.resource</c> (an object of the resource's
    /// attributes), <c>otel.events</c> (events not mapped to messages), <c>otel.links</c>, <c>otel.trace_state</c>,
    /// dropped counts; then <c>agentstack.price_table</c> and <c>agentstack.price</c> when the cost was computed here.
    /// </summary>
    /// <summary>An event's or link's attributes as an <c>attributes</c> object, left out when there are none.</summary>
    private static void WriteAttributesIfAny(Utf8JsonWriter w, RepeatedField<KeyValue> attributes)
    {
        if (attributes.Count == 0)
            return;
        w.WritePropertyName("attributes");
        OtlpAttributes.WriteObject(w, attributes);
    }

    private static void WriteAttributes(Utf8JsonWriter w, OtlpSpan span, OtlpAttributes attributes, GenAiConventions genAi,
        ScopeSpans scopeSpans, byte[]? resource, byte[]? scopeAttributes, PricedCost? priced)
    {
        w.WriteStartObject();
        for (var i = 0; i < attributes.Count; i++)
        {
            if (attributes.IsConsumedAt(i))
                continue;
            w.WritePropertyName(attributes.KeyAt(i));
            OtlpAttributes.Write(w, attributes.ValueAt(i));
        }
        if (span.Kind != OtlpSpan.Types.SpanKind.Unspecified)
            w.WriteString("otel.span_kind", span.Kind switch
            {
                OtlpSpan.Types.SpanKind.Internal => "internal",
                OtlpSpan.Types.SpanKind.Server => "server",
                OtlpSpan.Types.SpanKind.Client => "client",
                OtlpSpan.Types.SpanKind.Producer => "producer",
                OtlpSpan.Types.SpanKind.Consumer => "consumer",
                _ => ((int)span.Kind).ToString(CultureInfo.InvariantCulture),
            });
        if (scopeSpans.Scope is { } scope)
        {
            if (scope.Name.Length > 0)
                w.WriteString("otel.scope.name", scope.Name);
            if (scope.Version.Length > 0)
                w.WriteString("otel.scope.version", scope.Version);
            if (scopeAttributes is not null)
            {
                w.WritePropertyName("otel.scope.attributes");
                w.WriteRawValue(scopeAttributes, skipInputValidation: true);
            }
        }
        if (resource is not null)
        {
            w.WritePropertyName("otel.resource");
            w.WriteRawValue(resource, skipInputValidation: true);
        }
        if (span.Status?.Code is Status.Types.StatusCode.Error or Status.Types.StatusCode.Ok)
            w.WriteString("otel.status_code", span.Status.Code == Status.Types.StatusCode.Ok ? "OK" : "ERROR");
        if (span.Events.Count > genAi.ConsumedEvents.Count)
        {
            w.WriteStartArray("otel.events");
            for (var i = 0; i < span.Events.Count; i++)
            {
                if (genAi.ConsumedEvents.Contains(i))
                    continue;
                var e = span.Events[i];
                w.WriteStartObject();
                w.WriteString("name", e.Name);
                w.WriteString("time", Format(FromUnixNanos(e.TimeUnixNano)));
                WriteAttributesIfAny(w, e.Attributes);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        if (span.Links.Count > 0)
        {
            w.WriteStartArray("otel.links");
            foreach (var link in span.Links)
            {
                w.WriteStartObject();
                w.WriteString("traceId", Convert.ToHexStringLower(link.TraceId.Span));
                w.WriteString("spanId", Convert.ToHexStringLower(link.SpanId.Span));
                if (link.TraceState.Length > 0)
                    w.WriteString("traceState", link.TraceState);
                WriteAttributesIfAny(w, link.Attributes);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        if (span.TraceState.Length > 0)
            w.WriteString("otel.trace_state", span.TraceState);
        if (span.DroppedAttributesCount > 0)
            w.WriteNumber("otel.dropped_attributes_count", span.DroppedAttributesCount);
        if (span.DroppedEventsCount > 0)
            w.WriteNumber("otel.dropped_events_count", span.DroppedEventsCount);
        if (span.DroppedLinksCount > 0)
            w.WriteNumber("otel.dropped_links_count", span.DroppedLinksCount);
        if (priced is not null)
        {
            w.WriteString("agentstack.price_table", priced.TableVersion);
            w.WriteString("agentstack.price", priced.Entry.Key);
        }
        w.WriteEndObject();
    }

    /// <summary>Unix nanoseconds to UTC, truncated to whole microseconds (the native span's precision).</summary>
    public static DateTimeOffset FromUnixNanos(ulong nanos)
    {
        var ticks = (long)(nanos / 100);
        ticks -= ticks % 10;
        return DateTimeOffset.UnixEpoch.AddTicks(ticks);
    }

    private static DateTimeOffset FromUnixNanosExact(ulong nanos) => DateTimeOffset.UnixEpoch.AddTicks((long)(nanos / 100));

    /// <summary>
    /// RFC 3339 UTC with six fractional digits (truncated, as the format <c>yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'</c> gives),
    /// written digit by digit: two per span, and the general custom-format path was a visible cost per span.
    /// </summary>
    public static string Format(DateTimeOffset t) => string.Create(27, t.UtcDateTime, static (c, d) =>
    {
        Digits(c[..4], d.Year);
        c[4] = '-';
        Digits(c.Slice(5, 2), d.Month);
        c[7] = '-';
        Digits(c.Slice(8, 2), d.Day);
        c[10] = 'T';
        Digits(c.Slice(11, 2), d.Hour);
        c[13] = ':';
        Digits(c.Slice(14, 2), d.Minute);
        c[16] = ':';
        Digits(c.Slice(17, 2), d.Second);
        c[19] = '.';
        Digits(c.Slice(20, 6), (int)(d.Ticks % TimeSpan.TicksPerSecond / 10));
        c[26] = 'Z';
    });

    private static void Digits(Span<char> into, int value)
    {
        for (var i = into.Length - 1; i >= 0; i--, value /= 10)
            into[i] = (char)('0' + value % 10);
    }

    private static string Truncate(string value) => value.Length <= 64 ? value : value[..64] + "…";
}
