using System.Text.Json;
using System.Text.Json.Serialization;

namespace AgentStack.Security.Training;

/// <summary>One row of the prompt-injection data (its SOURCE.md gives the fields).</summary>
public sealed record Sample(
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("label")] int Label,
    [property: JsonPropertyName("category")] string Category,
    [property: JsonPropertyName("lang")] string Lang,
    [property: JsonPropertyName("source")] string Source,
    [property: JsonPropertyName("split")] string? Split = null);

public static class Dataset
{
    public static List<Sample> Read(string path) =>
        File.ReadLines(path).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<Sample>(l)!).ToList();
}
