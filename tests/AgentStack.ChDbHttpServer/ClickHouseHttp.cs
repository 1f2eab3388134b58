using System.IO.Compression;
using System.Text;
using AgentStack.Projections.Analytics;
using AgentStack.Projections.Analytics.ChDb;
using Microsoft.Extensions.Primitives;

namespace AgentStack.ChDbHttpServer;

/// <summary>
/// The part of ClickHouse's HTTP interface (https://clickhouse.com/docs/interfaces/http) that
/// ClickHouse.Driver 1.5 sends, as captured from its requests with <c>ChDbHttp:LogRequests=true</c>:
/// <list type="bullet">
/// <item><c>GET /ping</c> → <c>Ok.</c></item>
/// <item><c>GET|POST /</c>: the query is the <c>query</c> URL parameter followed by the body (ClickHouse's rule),
/// so <c>INSERT … FORMAT JSONEachRow</c> in the URL takes its rows from the body; <c>param_*</c> are
/// server-side query parameters; <c>default_format</c>, <c>database</c>, <c>query_id</c>.</item>
/// <item>Request bodies in gzip/deflate/br (<c>Content-Encoding</c>); responses in gzip or deflate when
/// <c>enable_http_compression=1</c> and <c>Accept-Encoding</c> allow.</item>
/// <item>Errors: <c>X-ClickHouse-Exception-Code</c> and the body "Code: N. DB::Exception: …" as the engine wrote
/// it; HTTP 400 for a syntax error, 404 for an unknown table, database, function or identifier, 500 otherwise
/// (a real server maps more codes to 4xx; ClickHouse.Driver treats every non-2xx alike).</item>
/// </list>
/// Any other URL parameter would be a ClickHouse setting for the query; the engine is reached through
/// chDB's API, which takes none per query, so such a request is refused (code 115) rather than run
/// without its setting. Results are always complete before they are sent, which is what
/// <c>wait_end_of_query=1</c> asks for, so that one is accepted.
/// </summary>
public static partial class ClickHouseHttp
{
    private const int UnknownSetting = 115;
    private const int UnknownException = 1002;

    /// <summary>Parameters of the HTTP protocol itself rather than query settings.</summary>
    private static readonly HashSet<string> ProtocolParameters =
    [
        "query", "database", "default_format", "query_id", "enable_http_compression", "wait_end_of_query",
        // Credentials: the stand-in has one user and no access control; it accepts and ignores them.
        "user", "password",
    ];

    /// <summary>Statements that only read, sent to chDB's reader connections; everything else goes to the writer.</summary>
    private static readonly string[] ReadOnlyKeywords = ["SELECT", "WITH", "SHOW", "DESC", "DESCRIBE", "EXISTS", "EXPLAIN", "("];

    public const string LogRequestsKey = "ChDbHttp:LogRequests";
    private const string LogCategory = "AgentStack.ChDbHttpServer.Requests";

    /// <summary>
    /// With <c>ChDbHttp:LogRequests=true</c>, logs each request as it arrives (before decompression, so
    /// <c>Content-Encoding</c> shows): how the driver's real requests were captured to build this.
    /// </summary>
    public static IApplicationBuilder UseRequestLog(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (context.RequestServices.GetRequiredService<IConfiguration>().GetValue<bool>(LogRequestsKey))
        {
            var request = context.Request;
            context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(LogCategory).LogInformation(
                "{Method} {Path}{Query} | {Headers}", request.Method, request.Path, request.QueryString,
                string.Join("; ", request.Headers.Where(h => h.Key != "Authorization").Select(h => $"{h.Key}: {h.Value}")));
        }

        await next(context);
    });

    public static IEndpointRouteBuilder MapClickHouseHttp(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapMethods("/ping", ["GET", "HEAD"], () => Results.Text("Ok.\n"));
        endpoints.MapMethods("/", ["GET", "POST"], HandleAsync);
        return endpoints;
    }

    private static async Task HandleAsync(HttpContext context, ChDbAnalyticsStore engine, ILoggerFactory loggers)
    {
        var request = context.Request;
        var body = await ReadBodyAsync(request, context.RequestAborted);
        if (context.RequestServices.GetRequiredService<IConfiguration>().GetValue<bool>(LogRequestsKey))
        {
            loggers.CreateLogger(LogCategory).LogInformation(
                "SQL: {Query} | body ({Length} bytes, decompressed): {Body}",
                request.Query["query"].ToString(), body.Length, Encoding.UTF8.GetString(body.AsSpan(0, Math.Min(body.Length, 2000))));
        }

        var url = request.Query;
        var queryId = url["query_id"] is { Count: > 0 } id && !string.IsNullOrEmpty(id) ? id.ToString() : Guid.NewGuid().ToString();
        var format = url["default_format"] is { Count: > 0 } f && !string.IsNullOrEmpty(f) ? f.ToString() : "TabSeparated";
        context.Response.Headers["X-ClickHouse-Query-Id"] = queryId;
        context.Response.Headers["X-ClickHouse-Format"] = format;

        var query = url["query"].ToString();
        if (query.Length == 0 && body.Length == 0)
        {
            // ClickHouse answers a bare GET / like /ping.
            await Results.Text("Ok.\n").ExecuteAsync(context);
            return;
        }

        var settings = url.Keys.Where(k => !ProtocolParameters.Contains(k) && !k.StartsWith("param_", StringComparison.Ordinal)).ToList();
        if (settings.Count > 0)
        {
            await ErrorAsync(context, UnknownSetting,
                $"Code: {UnknownSetting}. DB::Exception: The chDB HTTP stand-in cannot apply per-query settings ({string.Join(", ", settings)}); " +
                "run this against a ClickHouse server. (UNKNOWN_SETTING)");
            return;
        }

        var parameters = url
            .Where(p => p.Key.StartsWith("param_", StringComparison.Ordinal))
            .Select(p => KeyValuePair.Create(p.Key["param_".Length..], p.Value.ToString()))
            .ToList();
        var sql = Join(query, body);
        var database = url["database"] is { Count: > 0 } d && !string.IsNullOrEmpty(d) ? d.ToString() : null;

        byte[] result;
        try
        {
            // Binary rows cannot travel inline through chDB (an empty line ends inline data there): the
            // engine's own RowBinary insert takes them (ChDbAnalyticsStore.InsertRowBinaryAsync).
            if (body.Length > 0 && RowBinaryInsert().Match(query) is { Success: true } insert)
            {
                var table = insert.Groups["table"].Value.Replace("`", "", StringComparison.Ordinal);
                await engine.InsertRowBinaryAsync(table.Contains('.', StringComparison.Ordinal) || database is null ? table : $"{database}.{table}",
                    body, context.RequestAborted);
                result = [];
            }
            else
            {
                result = await engine.RunAsync(sql, format, parameters, database, write: !IsReadOnly(sql.Span), context.RequestAborted);
            }
        }
        catch (AnalyticsException e)
        {
            await ErrorAsync(context, e.Code ?? UnknownException,
                e.Message.StartsWith("Code: ", StringComparison.Ordinal) ? e.Message : $"Code: {e.Code ?? UnknownException}. DB::Exception: {e.Message}");
            return;
        }
        catch (ArgumentException e)
        {
            await ErrorAsync(context, UnknownException, $"Code: {UnknownException}. DB::Exception: {e.Message}");
            return;
        }

        await WriteAsync(context, result, url["enable_http_compression"]);
    }

    private static async Task<byte[]> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, cancellationToken);
        return buffer.ToArray();
    }

    /// <summary>ClickHouse's rule: the query is the <c>query</c> parameter, a line break, then the body.</summary>
    private static ReadOnlyMemory<byte> Join(string query, byte[] body)
    {
        if (query.Length == 0)
        {
            return body;
        }

        var head = Encoding.UTF8.GetBytes(body.Length > 0 ? query + "\n" : query);
        var sql = new byte[head.Length + body.Length];
        head.CopyTo(sql, 0);
        body.CopyTo(sql, head.Length);
        return sql;
    }

    private static bool IsReadOnly(ReadOnlySpan<byte> sql)
    {
        var text = Encoding.UTF8.GetString(sql[..Math.Min(sql.Length, 64)]).TrimStart();
        return ReadOnlyKeywords.Any(k => text.StartsWith(k, StringComparison.OrdinalIgnoreCase)
            && (text.Length == k.Length || !char.IsLetterOrDigit(text[k.Length]) || k == "("));
    }

    private static async Task WriteAsync(HttpContext context, byte[] result, StringValues enableCompression)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/plain; charset=UTF-8";
        var encoding = enableCompression.ToString() is "1" or "true" ? Negotiate(context.Request.Headers.AcceptEncoding) : null;
        if (encoding is null)
        {
            response.ContentLength = result.Length;
            await response.Body.WriteAsync(result, context.RequestAborted);
            return;
        }

        response.Headers.ContentEncoding = encoding;
        // ClickHouse's "deflate" is the zlib format (RFC 1950), as HTTP specifies.
        await using Stream compressed = encoding == "gzip"
            ? new GZipStream(response.Body, CompressionLevel.Fastest, leaveOpen: true)
            : new ZLibStream(response.Body, CompressionLevel.Fastest, leaveOpen: true);
        await compressed.WriteAsync(result, context.RequestAborted);
    }

    private static string? Negotiate(StringValues acceptEncoding)
    {
        var offered = acceptEncoding.SelectMany(v => (v ?? "").Split(',')).Select(e => e.Split(';')[0].Trim().ToLowerInvariant()).ToList();
        return offered.Contains("gzip") ? "gzip" : offered.Contains("deflate") ? "deflate" : null;
    }

    private static async Task ErrorAsync(HttpContext context, int code, string message)
    {
        var response = context.Response;
        response.StatusCode = code switch
        {
            62 => StatusCodes.Status400BadRequest, // SYNTAX_ERROR
            46 or 47 or 60 or 73 or 81 or 115 => StatusCodes.Status404NotFound, // UNKNOWN_FUNCTION, _IDENTIFIER, _TABLE, _FORMAT, _DATABASE, _SETTING
            _ => StatusCodes.Status500InternalServerError,
        };
        response.ContentType = "text/plain; charset=UTF-8";
        response.Headers["X-ClickHouse-Exception-Code"] = code.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await response.WriteAsync(message.TrimEnd() + "\n", context.RequestAborted);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^\s*INSERT\s+INTO\s+(?<table>`?[A-Za-z_][A-Za-z0-9_]*`?(\.`?[A-Za-z_][A-Za-z0-9_]*`?)?)\s+FORMAT\s+RowBinary\s*$", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex RowBinaryInsert();
}
