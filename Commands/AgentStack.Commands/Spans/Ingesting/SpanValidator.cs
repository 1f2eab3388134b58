using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using AgentStack.Events;
using AgentStack.Security;

namespace AgentStack.Commands.Spans.Ingesting;

/// <summary>
/// Validates a whole batch before anything is sent on (docs/architecture.md, invariant 7): every problem is
/// reported under its field path (<c>spans[3].endTime</c>) with the limit it broke. Valid spans are
/// normalised: times to UTC whole microseconds.
/// </summary>
public static partial class SpanValidator
{
    /// <summary>
    /// Most tokens one span may count, in or out: far above any model's context, and low enough that the sums the
    /// anomaly engine and the analytics tables take over millions of spans stay within a long (they overflowed to
    /// negative totals from two spans of <see cref="long.MaxValue"/>).
    /// </summary>
    public const long MaxTokens = 1_000_000_000_000;

    public static (IReadOnlyList<SpanRecord> Spans, Dictionary<string, string[]> Errors) Validate(
        SpanBatchRequest? request, IngestOptions limits, DateTimeOffset now)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (request?.Spans is not { } spans)
        {
            errors["spans"] = ["spans is required: an array of span objects"];
            return ([], errors);
        }
        if (spans.Count == 0)
            errors["spans"] = ["spans must hold at least one span"];
        if (spans.Count > limits.MaxSpansPerBatch)
        {
            errors["spans"] = [$"spans holds {spans.Count} spans; the limit is {limits.MaxSpansPerBatch} per batch (MaxSpansPerBatch)"];
            return ([], errors);
        }

        var records = new List<SpanRecord>(spans.Count);
        for (var i = 0; i < spans.Count; i++)
        {
            var span = spans[i];
            var at = $"spans[{i}]";
            if (span is null)
            {
                errors[at] = ["a span must be an object"];
                continue;
            }
            var before = errors.Count;
            var record = ValidateSpan(span, at, limits, now, errors);
            if (errors.Count == before && record is not null)
                records.Add(record);
        }
        return (records, errors);
    }

    private static SpanRecord? ValidateSpan(SpanJson s, string at, IngestOptions limits, DateTimeOffset now,
        Dictionary<string, string[]> errors)
    {
        void Fail(string field, string message) => errors[$"{at}.{field}"] = [message];

        Id(s.TraceId, "traceId", required: true);
        Id(s.SpanId, "spanId", required: true);
        Id(s.ParentSpanId, "parentSpanId", required: false);
        if (s.ParentSpanId is not null && s.ParentSpanId == s.SpanId)
            Fail("parentSpanId", "parentSpanId must differ from spanId");

        if (string.IsNullOrWhiteSpace(s.Name))
            Fail("name", "name is required");
        else if (s.Name.Length > limits.MaxNameLength)
            Fail("name", $"name is {s.Name.Length} characters; the limit is {limits.MaxNameLength}");

        if (s.Kind is null)
            Fail("kind", $"kind is required: one of {string.Join(", ", SpanKinds.All)}");
        else if (!SpanKinds.IsKnown(s.Kind))
            Fail("kind", $"kind '{Truncate(s.Kind)}' is unknown: use one of {string.Join(", ", SpanKinds.All)}");

        var start = Time(s.StartTime, "startTime", required: true);
        var end = Time(s.EndTime, "endTime", required: false);
        if (start is not null && end is not null && end < start)
            Fail("endTime", $"endTime {s.EndTime} is before startTime {s.StartTime}");

        if (s.Status is not null && s.Status is not (SpanStatuses.Ok or SpanStatuses.Error))
            Fail("status", $"status '{Truncate(s.Status)}' is unknown: use ok or error");
        Text(s.StatusMessage, "statusMessage", limits.MaxStatusMessageLength);
        Text(s.Model, "model", limits.MaxShortStringLength);
        Text(s.Provider, "provider", limits.MaxShortStringLength);

        if (s.InputTokens < 0)
            Fail("inputTokens", "inputTokens must be zero or more");
        else if (s.InputTokens > MaxTokens)
            Fail("inputTokens", $"inputTokens is {s.InputTokens}; the limit is {MaxTokens}");
        if (s.OutputTokens < 0)
            Fail("outputTokens", "outputTokens must be zero or more");
        else if (s.OutputTokens > MaxTokens)
            Fail("outputTokens", $"outputTokens is {s.OutputTokens}; the limit is {MaxTokens}");
        if (s.CostUsd is < 0 or > 1_000_000_000m)
            Fail("costUsd", "costUsd must be between 0 and 1000000000");

        Payload(s.Input, "input");
        Payload(s.Output, "output");
        if (s.Attributes is { } attributes)
        {
            if (attributes.ValueKind == JsonValueKind.Null) { }
            else if (attributes.ValueKind != JsonValueKind.Object)
                Fail("attributes", "attributes must be an object of name → value");
            else
            {
                var count = 0;
                foreach (var property in attributes.EnumerateObject())
                {
                    count++;
                    // An escaped lone surrogate reads as U+FFFD, one character as it was one UTF-16 unit (docs/ingestion.md).
                    var name = JsonStrings.Name(property);
                    if (name.Length > limits.MaxAttributeKeyLength)
                        Fail($"attributes.{Truncate(name)}",
                            $"attribute name is {name.Length} characters; the limit is {limits.MaxAttributeKeyLength} (MaxAttributeKeyLength)");
                    else if (ValueLength(property.Value, limits.MaxAttributeValueLength) is var length && length > limits.MaxAttributeValueLength)
                        Fail($"attributes.{name}",
                            $"attribute '{name}' is {length} characters long; the limit is {limits.MaxAttributeValueLength} (MaxAttributeValueLength)");
                }
                if (count > limits.MaxAttributes)
                    Fail("attributes", $"attributes holds {count} entries; the limit is {limits.MaxAttributes} (MaxAttributes)");
                Payload(attributes, "attributes");
            }
        }

        if (errors.Keys.Any(k => k.StartsWith(at + ".", StringComparison.Ordinal)))
            return null;

        return new SpanRecord(s.TraceId!, s.SpanId!, s.ParentSpanId, s.Name!, s.Kind!, start!.Value, end,
            s.Status, s.StatusMessage, s.Model, s.Provider, s.InputTokens, s.OutputTokens, s.CostUsd,
            NullIfJsonNull(s.Input), NullIfJsonNull(s.Output), NullIfJsonNull(s.Attributes));

        void Id(string? value, string field, bool required)
        {
            if (value is null)
            {
                if (required)
                    Fail(field, $"{field} is required");
                return;
            }
            if (value.Length == 0 || value.Length > limits.MaxIdLength)
                Fail(field, $"{field} must be 1 to {limits.MaxIdLength} characters");
            else if (!IdPattern().IsMatch(value))
                Fail(field, $"{field} may hold only letters, digits and . _ : -");
        }

        void Text(string? value, string field, int max)
        {
            if (value is not null && value.Length > max)
                Fail(field, $"{field} is {value.Length} characters; the limit is {max}");
        }

        void Payload(JsonElement? value, string field)
        {
            if (value is not { } element)
                return;
            var raw = JsonMarshal.GetRawUtf8Value(element);
            if (raw.Length > limits.MaxPayloadBytes)
                Fail(field, $"{field} is {raw.Length} bytes; the limit is {limits.MaxPayloadBytes} bytes (MaxPayloadBytes)");
            else if (Depth(raw) > limits.MaxDepth)
                Fail(field, $"{field} nests deeper than {limits.MaxDepth} levels");
        }

        DateTimeOffset? Time(string? value, string field, bool required)
        {
            if (value is null)
            {
                if (required)
                    Fail(field, $"{field} is required: an RFC 3339 time such as 2026-01-31T12:00:00.123456Z");
                return null;
            }
            if (!TryParseRfc3339(value, out var parsed))
            {
                Fail(field, $"{field} '{Truncate(value)}' is not an RFC 3339 time such as 2026-01-31T12:00:00.123456Z");
                return null;
            }
            if (parsed < limits.EarliestTimestamp || parsed > now + limits.MaxFutureSkew)
            {
                Fail(field, $"{field} {value} is outside the accepted range {limits.EarliestTimestamp:yyyy-MM-dd} to {(now + limits.MaxFutureSkew):O}");
                return null;
            }
            return parsed;
        }
    }

    /// <summary>Parses RFC 3339 (a zone is required); keeps whole microseconds, in UTC. One parser for both sides (<see cref="Rfc3339"/>).</summary>
    public static bool TryParseRfc3339(string value, out DateTimeOffset result) => Rfc3339.TryParse(value, out result);

    /// <summary>How deeply objects and arrays nest in already-parsed JSON; a reader scan allocates nothing.</summary>
    private static int Depth(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 1024 });
        var max = 0;
        while (reader.Read())
        {
            if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                max = Math.Max(max, reader.CurrentDepth + 1);
        }
        return max;
    }

    /// <summary>
    /// A string value's characters, any other value's JSON text in bytes; the raw text is an upper bound of the
    /// characters, so a string is only decoded when that bound is over the limit.
    /// </summary>
    private static int ValueLength(JsonElement value, int limit)
    {
        var raw = JsonMarshal.GetRawUtf8Value(value).Length;
        if (value.ValueKind != JsonValueKind.String)
            return raw;
        return raw - 2 <= limit ? raw - 2 : JsonStrings.Text(value).Length;
    }

    private static JsonElement? NullIfJsonNull(JsonElement? e) => e is { ValueKind: JsonValueKind.Null } ? null : e;

    private static string Truncate(string value) => value.Length <= 64 ? value : value[..64] + "…";

    // \z, not $: $ also matches before a final line feed, which would end up in stream names and URLs.
    [GeneratedRegex(@"^[A-Za-z0-9._:-]+\z")]
    private static partial Regex IdPattern();

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?<fraction>\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")]
    private static partial Regex Rfc3339Pattern();
}
