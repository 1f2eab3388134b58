using System.Net;
using System.Text.Json.Nodes;
using AgentStack.Testing;

namespace AgentStack.Sdk.Tests;

/// <summary>A trace as the server stores it: GET /api/projects/default/traces/{traceId}.</summary>
public sealed class StoredTrace(IReadOnlyList<JsonNode> spans)
{
    public IReadOnlyList<JsonNode> Spans { get; } = spans;

    public static async Task<StoredTrace> GetAsync(ServerProcess server, string traceId)
    {
        await server.WaitForProjectionAsync();
        using var response = await server.Client.GetAsync(new Uri($"/api/projects/default/traces/{traceId}", UriKind.Relative));
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, body);
        return new StoredTrace(JsonNode.Parse(body)!["spans"]!.AsArray().Select(s => s!).ToList());
    }

    public JsonNode Single(string name) => Spans.Where(s => Name(s) == name).ShouldHaveSingleItem($"one span named {name}");

    public IReadOnlyList<JsonNode> Named(string name) => Spans.Where(s => Name(s) == name).ToList();

    public IReadOnlyList<JsonNode> OfKind(string kind) => Spans.Where(s => Kind(s) == kind).ToList();

    public IReadOnlyList<JsonNode> ChildrenOf(JsonNode parent) =>
        Spans.Where(s => s["parentSpanId"]?.GetValue<string>() == Id(parent)).ToList();

    public JsonNode Root => Spans.Where(s => s["parentSpanId"] is null).ShouldHaveSingleItem("one root span");

    public JsonNode? Parent(JsonNode span) =>
        span["parentSpanId"]?.GetValue<string>() is { } parent ? Spans.Single(s => Id(s) == parent) : null;

    /// <summary>Whether <paramref name="ancestor"/> is above <paramref name="span"/> in the tree.</summary>
    public bool IsUnder(JsonNode span, JsonNode ancestor)
    {
        for (var p = Parent(span); p is not null; p = Parent(p))
        {
            if (Id(p) == Id(ancestor))
                return true;
        }
        return false;
    }

    public static string Id(JsonNode span) => span["spanId"]!.GetValue<string>();
    public static string Name(JsonNode span) => span["name"]!.GetValue<string>();
    public static string Kind(JsonNode span) => span["kind"]!.GetValue<string>();
    public static string Status(JsonNode span) => span["status"]!.GetValue<string>();
}
