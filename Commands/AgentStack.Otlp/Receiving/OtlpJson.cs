using System.Text.Json;
using System.Text.Json.Nodes;
using AgentStack.Events;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace AgentStack.Otlp.Receiving;

/// <summary>
/// OTLP/JSON (OTLP spec, "JSON Protobuf Encoding"): the protobuf JSON mapping, except that trace and span ids are
/// hex strings, not base64, and enums are integers. Ids are rewritten to base64 before Google.Protobuf's parser
/// reads the rest; unknown fields are ignored as the spec requires.
/// </summary>
internal static class OtlpJson
{
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default);

    /// <summary>Parses the body; throws <see cref="OtlpBadRequestException"/> naming the place of the first problem.</summary>
    public static ExportTraceServiceRequest Parse(ReadOnlySpan<byte> body, int maxDepth)
    {
        JsonNode? root;
        // Protobuf strings are UTF-8, which cannot hold an escaped lone surrogate: the parser refused the whole body for one.
        // Read as U+FFFD instead, as everywhere (docs/ingestion.md, lone surrogates).
        if (LoneSurrogates.AsReplacementCharacters(body) is { } replaced)
            body = replaced;
        try
        {
            // A key twice in one object is ambiguous (which one counts?), and JsonObject and Google.Protobuf's parser
            // would each fail on it later: refused here, with its path (issue 17, item 5).
            root = JsonNode.Parse(body, documentOptions: new JsonDocumentOptions { MaxDepth = maxDepth, AllowDuplicateProperties = false });
        }
        catch (JsonException e)
        {
            throw new OtlpBadRequestException("body", $"the body is not valid JSON: {CutPath(e.Message)}");
        }
        if (root is not JsonObject request)
            throw new OtlpBadRequestException("body", "the body must be a JSON object such as {\"resourceSpans\":[...]}");

        if (request["resourceSpans"] is JsonArray resourceSpans)
        {
            for (var r = 0; r < resourceSpans.Count; r++)
            {
                // Anything but an object here is left to the parser below, which refuses it with its path (a 400);
                // indexing a number or an array by name would throw, and answer 500.
                if (resourceSpans[r] is not JsonObject resource || resource["scopeSpans"] is not JsonArray scopeSpans)
                    continue;
                for (var s = 0; s < scopeSpans.Count; s++)
                {
                    if (scopeSpans[s] is not JsonObject scope || scope["spans"] is not JsonArray spans)
                        continue;
                    for (var i = 0; i < spans.Count; i++)
                    {
                        if (spans[i] is not JsonObject span)
                            continue;
                        var at = $"resourceSpans[{r}].scopeSpans[{s}].spans[{i}]";
                        HexToBase64(span, "traceId", at);
                        HexToBase64(span, "spanId", at);
                        HexToBase64(span, "parentSpanId", at);
                        if (span["links"] is JsonArray links)
                            for (var l = 0; l < links.Count; l++)
                                if (links[l] is JsonObject link)
                                {
                                    HexToBase64(link, "traceId", $"{at}.links[{l}]");
                                    HexToBase64(link, "spanId", $"{at}.links[{l}]");
                                }
                    }
                }
            }
        }

        try
        {
            return Parser.Parse<ExportTraceServiceRequest>(request.ToJsonString());
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new OtlpBadRequestException("body", $"the body is not an OTLP ExportTraceServiceRequest: {e.Message}");
        }
        catch (InvalidJsonException e)
        {
            throw new OtlpBadRequestException("body", $"the body is not an OTLP ExportTraceServiceRequest: {e.Message}");
        }
        catch (FormatException e)
        {
            throw new OtlpBadRequestException("body", $"the body is not an OTLP ExportTraceServiceRequest: {e.Message}");
        }
        catch (InvalidOperationException e)
        {
            // Google.Protobuf's JsonParser reports some malformed input (e.g. a repeated field given twice) this way.
            throw new OtlpBadRequestException("body", $"the body is not an OTLP ExportTraceServiceRequest: {e.Message}");
        }
        catch (ArgumentException e)
        {
            throw new OtlpBadRequestException("body", $"the body is not an OTLP ExportTraceServiceRequest: {e.Message}");
        }
    }

    public static string Format(IMessage message) => Formatter.Format(message);

    private static void HexToBase64(JsonObject owner, string name, string at)
    {
        if (owner[name] is not JsonValue value)
            return;
        if (!value.TryGetValue<string>(out var hex))
            throw new OtlpBadRequestException($"{at}.{name}", $"{at}.{name} must be a hex string");
        if (hex.Length % 2 != 0 || !hex.All(char.IsAsciiHexDigit))
            throw new OtlpBadRequestException($"{at}.{name}", $"{at}.{name} '{(hex.Length > 40 ? hex[..40] + "…" : hex)}' is not a hex string (OTLP/JSON ids are hex, not base64)");
        owner[name] = Convert.ToBase64String(Convert.FromHexString(hex));
    }

    private static string CutPath(string message)
    {
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }
}

/// <summary>Input that is not a valid OTLP request; answered 400 / INVALID_ARGUMENT.</summary>
public sealed class OtlpBadRequestException(string field, string message) : Exception(message)
{
    public string Field { get; } = field;
}
