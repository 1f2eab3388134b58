using System.Text.Json;
using System.Text.Json.Nodes;

namespace AgentStack.Sdk;

/// <summary>Turns a captured value into JSON at capture time, so later mutation of the value is not recorded.</summary>
internal static class Payload
{
    internal static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        ReferenceHandler = System.Text.Json.Serialization.ReferenceHandler.IgnoreCycles,
        MaxDepth = 32,
    };

    public static JsonNode? Capture<T>(T value)
    {
        try
        {
            return value switch
            {
                null => null,
                JsonNode node => node.DeepClone(),
                string text => JsonValue.Create(text),
                JsonElement element => JsonNode.Parse(element.GetRawText()),
                _ => JsonSerializer.SerializeToNode(value, value.GetType(), Options),
            };
        }
        catch (Exception e) when (e is NotSupportedException or JsonException or InvalidOperationException or ArgumentException)
        {
            // Capturing must never throw into the caller's code: record what could not be serialized instead.
            return new JsonObject { ["unserializable"] = value?.GetType().FullName, ["error"] = e.Message };
        }
    }

    /// <summary>Parses JSON text held in a GenAI tag; text that is not JSON is kept as a JSON string.</summary>
    public static JsonNode? FromTagText(string? text)
    {
        if (text is null)
            return null;
        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            return JsonValue.Create(text);
        }
    }
}
