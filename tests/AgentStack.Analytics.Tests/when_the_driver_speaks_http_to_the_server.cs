using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using static AgentStack.Analytics.Tests.ChDbTestEngine;

namespace AgentStack.Analytics.Tests;

/// <summary>
/// The parts of ClickHouse's HTTP interface that ClickHouse.Driver relies on, checked on the bytes. They
/// run against whichever server the suite has: the chDB stand-in here, a real clickhouse-server in the
/// GitHub workflow, so the stand-in is held to the real server's behaviour.
/// </summary>
public sealed class when_the_driver_speaks_http_to_the_server(ClickHouseServer server) : IDisposable
{
    private readonly HttpClient _http = Client(server);

    private static HttpClient Client(ClickHouseServer server)
    {
        var client = new HttpClient(new HttpClientHandler { AutomaticDecompression = DecompressionMethods.None, CheckCertificateRevocationList = true }) { BaseAddress = server.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{server.Username}:{server.Password}")));
        return client;
    }

    [Fact]
    public async Task then_ping_answers_ok()
    {
        using var response = await _http.GetAsync(new Uri("ping", UriKind.Relative), Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await response.Content.ReadAsStringAsync(Ct)).ShouldBe("Ok.\n");
    }

    [Fact]
    public async Task then_the_query_parameter_and_the_body_make_one_statement_with_server_side_parameters()
    {
        using var response = await _http.PostAsync(
            new Uri("?query=SELECT%20%7Bs%3AString%7D%20AS%20s%2C&param_s=o%27neil&default_format=JSONEachRow", UriKind.Relative),
            new StringContent("{n:UInt8} + 1 AS n", Encoding.UTF8), Ct);
        // n has no value: the error proves the body joined the query; then the same with a value.
        response.IsSuccessStatusCode.ShouldBeFalse();
        (await response.Content.ReadAsStringAsync(Ct)).ShouldContain("n");

        using var ok = await _http.PostAsync(
            new Uri("?query=SELECT%20%7Bs%3AString%7D%20AS%20s%2C&param_s=o%27neil&param_n=41&default_format=JSONEachRow", UriKind.Relative),
            new StringContent("{n:UInt8} + 1 AS n", Encoding.UTF8), Ct);

        ok.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await ok.Content.ReadAsStringAsync(Ct)).ShouldBe("{\"s\":\"o'neil\",\"n\":42}\n");
    }

    [Fact]
    public async Task then_an_error_has_its_code_in_a_header_and_in_the_text()
    {
        using var response = await _http.PostAsync(new Uri("", UriKind.Relative), new StringContent("SELECT * FROM system.no_such_table"), Ct);

        // ClickHouse answers an unknown table with 404 (other failures 400 or 500).
        response.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        response.Headers.GetValues("X-ClickHouse-Exception-Code").ShouldBe(["60"]);
        (await response.Content.ReadAsStringAsync(Ct)).ShouldStartWith("Code: 60. DB::Exception: ");
    }

    [Fact]
    public async Task then_a_gzip_request_body_is_read_and_a_gzip_response_is_sent_when_asked()
    {
        using var compressedBody = new MemoryStream();
        await using (var gzip = new GZipStream(compressedBody, CompressionLevel.Fastest, leaveOpen: true))
        {
            await gzip.WriteAsync("SELECT 'compressed both ways'"u8.ToArray(), Ct);
        }

        var content = new ByteArrayContent(compressedBody.ToArray());
        content.Headers.ContentEncoding.Add("gzip");
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("?enable_http_compression=1", UriKind.Relative)) { Content = content };
        request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("gzip"));

        using var response = await _http.SendAsync(request, Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync(Ct));
        response.Content.Headers.ContentEncoding.ShouldBe(["gzip"]);
        await using var decompressed = new GZipStream(await response.Content.ReadAsStreamAsync(Ct), CompressionMode.Decompress);
        using var reader = new StreamReader(decompressed);
        (await reader.ReadToEndAsync(Ct)).ShouldBe("compressed both ways\n");
    }

    [Fact]
    public async Task then_the_stand_in_refuses_a_setting_it_cannot_apply_rather_than_ignore_it()
    {
        Assert.SkipUnless(server.IsStandIn, "a real ClickHouse server applies every setting");

        using var response = await _http.PostAsync(new Uri("?max_threads=1", UriKind.Relative), new StringContent("SELECT 1"), Ct);

        response.IsSuccessStatusCode.ShouldBeFalse();
        response.Headers.GetValues("X-ClickHouse-Exception-Code").ShouldBe(["115"]);
        (await response.Content.ReadAsStringAsync(Ct)).ShouldContain("max_threads");
    }

    public void Dispose() => _http.Dispose();
}
