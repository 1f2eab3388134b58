using System.IO.Compression;
using System.Security.Cryptography;
using AgentStack.Commands.Spans.Ingesting;
using Microsoft.AspNetCore.Http;

namespace AgentStack.UnitTests.Ingesting;

/// <summary>
/// IngestBody reads into an array rented from the shared pool and moves to a larger one as it fills (64 KiB first
/// without Content-Length or with gzip, Content-Length + 1 otherwise; past 1 MiB, arrays of its own): every body
/// must come whole, byte for byte, and every refusal must be the answer it always was.
/// </summary>
public sealed class when_a_body_is_read
{
    private static readonly IngestOptions Limits = new() { MaxBodyBytes = 4 * 1024 * 1024 };

    private static DefaultHttpContext Request(byte[] body, bool contentLength, string? encoding = null)
    {
        var http = new DefaultHttpContext();
        http.Request.Body = new Trickling(body);
        if (contentLength)
            http.Request.ContentLength = body.Length;
        if (encoding is not null)
            http.Request.Headers.ContentEncoding = encoding;
        return http;
    }

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
            gzip.Write(data);
        return output.ToArray();
    }

    [Theory]
    [InlineData(0, true)]
    [InlineData(65_536, true)]
    [InlineData(65_536, false)]
    [InlineData(65_537, false)]
    [InlineData(300_000, true)]
    [InlineData(300_000, false)]
    [InlineData(3_000_000, true)]
    [InlineData(3_000_000, false)]
    public async Task then_a_plain_body_comes_whole_byte_for_byte(int size, bool contentLength)
    {
        var sent = RandomNumberGenerator.GetBytes(size);
        var (body, failure) = await IngestBody.ReadAsync(Request(sent, contentLength), Limits, json: false);
        using (body)
        {
            failure.ShouldBeNull();
            body.Span.SequenceEqual(sent).ShouldBeTrue($"{body.Span.Length} bytes read of {size} sent");
        }
    }

    [Theory]
    [InlineData(65_535)]
    [InlineData(65_536)]
    [InlineData(300_000)]
    [InlineData(3_000_000)]
    public async Task then_a_gzip_body_comes_inflated_byte_for_byte(int size)
    {
        var sent = RandomNumberGenerator.GetBytes(size);
        var (body, failure) = await IngestBody.ReadAsync(Request(Gzip(sent), contentLength: true, "gzip"), Limits, json: false);
        using (body)
        {
            failure.ShouldBeNull();
            body.Span.SequenceEqual(sent).ShouldBeTrue($"{body.Span.Length} bytes read of {size} sent");
        }
    }

    [Fact]
    public async Task then_a_body_over_the_limit_gets_the_413_it_always_got()
    {
        var (body, failure) = await IngestBody.ReadAsync(Request(new byte[Limits.MaxBodyBytes + 1], contentLength: true), Limits, json: true);
        body.Span.IsEmpty.ShouldBeTrue();
        failure.ShouldBe(new BodyFailure(413, RpcCodes.ResourceExhausted, "Request body too large",
            "The body is 4194305 bytes; the limit is 4194304 bytes (MaxBodyBytes). Send smaller batches.", "body",
            "MaxBodyBytes", 4194304));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task then_a_gzip_body_inflating_past_the_limit_gets_the_413_it_always_got(bool contentLength)
    {
        var (body, failure) = await IngestBody.ReadAsync(
            Request(Gzip(new byte[Limits.MaxBodyBytes + 1]), contentLength, "gzip"), Limits, json: true);
        body.Span.IsEmpty.ShouldBeTrue();
        failure.ShouldBe(new BodyFailure(413, RpcCodes.ResourceExhausted, "Request body too large",
            "The body decompresses to more than 4194304 bytes (MaxBodyBytes). Send smaller batches.", "body",
            "MaxBodyBytes", 4194304));
    }

    [Fact]
    public async Task then_a_body_that_is_not_gzip_gets_a_400_saying_so()
    {
        var sent = RandomNumberGenerator.GetBytes(100_000);
        sent[0] = (byte)'{';
        (await RefusedAsync(sent)).ShouldStartWith("The body is not gzip: it does not start with the gzip magic bytes 1f 8b");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(1_000)]
    [InlineData(-12)]
    public async Task then_a_gzip_body_cut_short_gets_a_400_saying_it_is_truncated(int cut)
    {
        var sent = Gzip(RandomNumberGenerator.GetBytes(100_000));
        // A negative cut keeps that many bytes: the member's header and two bytes of its deflate data.
        (await RefusedAsync(cut > 0 ? sent[..^cut] : sent[..-cut])).ShouldStartWith("The gzip body is truncated");
    }

    [Fact]
    public async Task then_a_gzip_member_cut_short_after_a_whole_one_gets_a_400_saying_it_is_truncated()
    {
        var second = Gzip("more"u8.ToArray());
        (await RefusedAsync([.. Gzip(RandomNumberGenerator.GetBytes(100_000)), .. second[..^3]])).ShouldStartWith("The gzip body is truncated");
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("eight zero bytes")]
    [InlineData("a line end")]
    public async Task then_bytes_after_the_gzip_stream_get_a_400_naming_them(string after)
    {
        byte[] trailing = after switch
        {
            "eight zero bytes" => new byte[8],
            "a line end" => "\n"u8.ToArray(),
            _ => "garbage"u8.ToArray(),
        };
        (await RefusedAsync([.. Gzip(RandomNumberGenerator.GetBytes(100_000)), .. trailing]))
            .ShouldStartWith("The body has bytes after the gzip stream that do not start another gzip member");
        (await RefusedAsync([.. Gzip(RandomNumberGenerator.GetBytes(100)), .. Gzip([1, 2, 3]), .. trailing]))
            .ShouldStartWith("The body has bytes after the gzip stream that do not start another gzip member");
    }

    [Fact]
    public async Task then_a_gzip_body_with_a_wrong_checksum_gets_a_400_saying_it_is_not_valid_gzip()
    {
        var sent = Gzip(RandomNumberGenerator.GetBytes(100_000));
        sent[^6] ^= 0xFF;
        (await RefusedAsync(sent)).ShouldBe("The gzip body is not valid gzip: its compressed data or a checksum is corrupt.");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public async Task then_gzip_members_one_after_another_come_whole_byte_for_byte(int empty)
    {
        var first = RandomNumberGenerator.GetBytes(100_000);
        var second = RandomNumberGenerator.GetBytes(300);
        var sent = Gzip(first).Concat(Enumerable.Range(0, empty).SelectMany(_ => Gzip([]))).Concat(Gzip(second)).ToArray();
        var (body, failure) = await IngestBody.ReadAsync(Request(sent, contentLength: true, "gzip"), Limits, json: false);
        using (body)
        {
            failure.ShouldBeNull();
            body.Span.SequenceEqual([.. first, .. second]).ShouldBeTrue($"{body.Span.Length} bytes read");
        }
    }

    [Fact]
    public async Task then_an_empty_gzip_body_comes_empty_as_before()
    {
        var (body, failure) = await IngestBody.ReadAsync(Request([], contentLength: true, "gzip"), Limits, json: false);
        failure.ShouldBeNull();
        body.Span.IsEmpty.ShouldBeTrue();
    }

    private static async Task<string> RefusedAsync(byte[] sent)
    {
        var (body, failure) = await IngestBody.ReadAsync(Request(sent, contentLength: true, "gzip"), Limits, json: true);
        body.Span.IsEmpty.ShouldBeTrue();
        failure.ShouldNotBeNull();
        (failure.HttpStatus, failure.RpcCode, failure.Title, failure.Field).ShouldBe((400, RpcCodes.InvalidArgument, "Invalid gzip body", "body"));
        return failure.Detail;
    }

    [Fact]
    public async Task then_json_that_is_not_utf8_gets_a_400_naming_the_byte_after_a_larger_array()
    {
        var sent = new byte[100_000];
        sent.AsSpan().Fill((byte)' ');
        "{\"spans\":\""u8.CopyTo(sent);
        sent[90_000] = 0xFF;
        "\"}"u8.CopyTo(sent.AsSpan(sent.Length - 2));
        var (body, failure) = await IngestBody.ReadAsync(Request(sent, contentLength: false), Limits, json: true);
        body.Span.IsEmpty.ShouldBeTrue();
        failure.ShouldBe(new BodyFailure(400, RpcCodes.InvalidArgument, "Invalid UTF-8 in the JSON body",
            "the body is not valid UTF-8: invalid byte 0xFF at byte offset 90000 (in spans)", "spans"));
    }

    [Fact]
    public async Task then_an_unknown_encoding_gets_a_415_before_anything_is_read()
    {
        var http = Request([1, 2, 3], contentLength: true, "br");
        var (body, failure) = await IngestBody.ReadAsync(http, Limits, json: true);
        body.Span.IsEmpty.ShouldBeTrue();
        failure.ShouldBe(new BodyFailure(415, RpcCodes.InvalidArgument, "Unsupported content encoding",
            "Content-Encoding 'br' is not supported: send gzip or no encoding.", "Content-Encoding"));
        http.Request.Body.Position.ShouldBe(0);
    }

    /// <summary>Hands out at most 7,919 bytes a read, as a socket does, so reads end anywhere in an array.</summary>
    private sealed class Trickling(byte[] bytes) : MemoryStream(bytes)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, 7_919)], cancellationToken);
    }
}
