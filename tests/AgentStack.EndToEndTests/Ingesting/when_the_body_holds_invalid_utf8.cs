using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using AgentStack.Testing;
using static AgentStack.Testing.Spans;

namespace AgentStack.EndToEndTests.Ingesting;

/// <summary>
/// Issue 17, item 5 (the two defects a hostile run found): invalid UTF-8 in an attribute key of /v1/spans or any
/// key of an OTLP/JSON body answered 500; invalid UTF-8 in input/output was accepted and replayed as invalid JSON.
/// Now each is a 400 naming where, and nothing is recorded.
/// </summary>
public sealed class when_the_body_holds_invalid_utf8(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly byte[] Invalid = [0xC3, 0x28];

    private static ByteArrayContent Body(string before, string after)
    {
        var bytes = Encoding.UTF8.GetBytes(before).Concat(Invalid).Concat(Encoding.UTF8.GetBytes(after)).ToArray();
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    private async Task<JsonObject> RefusedAsync(string path, ByteArrayContent body)
    {
        var before = await fixture.Server.LogPositionAsync();
        using var response = await fixture.Server.Client.PostAsync(new Uri(path, UriKind.Relative), body);
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, text);
        (await fixture.Server.LogPositionAsync()).ShouldBe(before, "nothing recorded");
        return JsonNode.Parse(text)!.AsObject();
    }

    [Fact]
    public async Task then_an_attribute_key_or_a_payload_is_refused_naming_the_field()
    {
        var span = Span(NewId(), "s1", end: DateTimeOffset.UtcNow);
        var head = "{\"spans\":[" + span[..^1];
        var attributeKey = await RefusedAsync("/v1/spans", Body(head + ",\"attributes\":{\"k", "\":1}}]}"));
        attributeKey["errors"]!.AsObject().ContainsKey("spans[0].attributes").ShouldBeTrue(attributeKey.ToJsonString());

        var input = await RefusedAsync("/v1/spans", Body(head + ",\"input\":\"a", "b\"}]}"));
        input["errors"]!.AsObject().ContainsKey("spans[0].input").ShouldBeTrue(input.ToJsonString());
    }

    [Fact]
    public async Task then_any_key_of_an_otlp_json_body_is_refused_naming_the_body()
    {
        var refused = await RefusedAsync("/v1/traces", Body("{\"resourceSpans\":[{\"x", "\":1}]}"));
        refused.ToJsonString().ShouldContain("not valid UTF-8");
    }
}
