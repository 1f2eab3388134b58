using System.Globalization;
using System.Net.Http.Headers;
using System.Text;

namespace AgentStack.Testing;

/// <summary>Builds native span JSON by hand, so tests control every byte the server receives.</summary>
public static class Spans
{
    public static string NewId() => Guid.NewGuid().ToString("N");

    public static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    public static string Span(string traceId, string spanId, string? parent = null, string name = "step", string kind = "llm",
        DateTimeOffset? start = null, DateTimeOffset? end = null, string? input = null, string? output = null,
        string status = "ok", string? extra = null)
    {
        var s = start ?? DateTimeOffset.UtcNow.AddMinutes(-1);
        var sb = new StringBuilder();
        sb.Append("{\"traceId\":\"").Append(traceId).Append("\",\"spanId\":\"").Append(spanId)
          .Append("\",\"name\":\"").Append(name).Append("\",\"kind\":\"").Append(kind)
          .Append("\",\"startTime\":\"").Append(Time(s)).Append('"');
        if (parent is not null)
            sb.Append(",\"parentSpanId\":\"").Append(parent).Append('"');
        if (end is { } e)
            sb.Append(",\"endTime\":\"").Append(Time(e)).Append("\",\"status\":\"").Append(status).Append('"');
        if (input is not null)
            sb.Append(",\"input\":").Append(input);
        if (output is not null)
            sb.Append(",\"output\":").Append(output);
        if (extra is not null)
            sb.Append(',').Append(extra);
        sb.Append('}');
        return sb.ToString();
    }

    public static string Batch(params string[] spans) => $$"""{"spans":[{{string.Join(',', spans)}}]}""";

    public static StringContent Json(string body) => new(body, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));

    public static Task<HttpResponseMessage> PostSpansAsync(this HttpClient client, string body) =>
        client.PostAsync(new Uri("/v1/spans", UriKind.Relative), Json(body));
}
