using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentStack.Commands.Spans.Ingesting;
using AgentStack.Events;
using AgentStack.Otlp.Mapping;
using AgentStack.Otlp.Pricing;
using AgentStack.Otlp.Receiving;

namespace AgentStack.Otlp.Tests.Mapping;

/// <summary>
/// Golden files: <c>Golden/{family}.otlp.json</c> is an OTLP/JSON export written from the conventions' published
/// attribute names; <c>Golden/{family}.expected.json</c> is the span records AgentStack must make of it, in the
/// native span JSON (the shape <c>GET /traces/{id}</c> serves). Set <c>AGENTSTACK_UPDATE_GOLDEN=1</c> to rewrite
/// the expected files after an intended change, then review the diff.
/// </summary>
internal static class GoldenFiles
{
    /// <summary>A fixed "now", after every fixture's timestamps, so the time limits are deterministic.</summary>
    public static readonly DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly JsonSerializerOptions Output = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Directory => Path.Combine(AppContext.BaseDirectory, "Golden");

    public static IReadOnlyList<SpanRecord> Map(string family)
    {
        var body = File.ReadAllBytes(Path.Combine(Directory, family + ".otlp.json"));
        var request = OtlpJson.Parse(body, 256);
        var result = OtlpSpanMapper.Map(request, "default", PriceTable.Shipped(), new IngestOptions(), Now);
        result.Errors.ShouldBeEmpty();
        return result.Spans;
    }

    public static void ShouldMatchGolden(IReadOnlyList<SpanRecord> spans, string family)
    {
        var actual = JsonSerializer.Serialize(spans, Output);
        var expectedPath = Path.Combine(Directory, family + ".expected.json");
        if (Environment.GetEnvironmentVariable("AGENTSTACK_UPDATE_GOLDEN") == "1")
        {
            var source = Path.Combine(SourceDirectory(), "Golden", family + ".expected.json");
            File.WriteAllText(source, actual + "\n");
            return;
        }
        File.Exists(expectedPath).ShouldBeTrue($"missing golden file {expectedPath}; actual:\n{actual}");
        var expectedText = File.ReadAllText(expectedPath);
        JsonNode.DeepEquals(JsonNode.Parse(expectedText), JsonNode.Parse(actual)).ShouldBeTrue($"{family}: the mapping differs from {expectedPath}; actual:\n{actual}");
        // Byte for byte too: the content hash that tells a re-send from a conflict (docs/architecture.md, invariant 2) is
        // taken over these exact bytes, so a mapping that only re-spells the same JSON would still turn an exporter's
        // retry after an upgrade into a 409.
        actual.ShouldBe(expectedText.TrimEnd('\n'), $"{family}: same JSON as {expectedPath} but different bytes");
    }

    private static string SourceDirectory()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "AgentStack.Otlp.Tests.csproj")))
            directory = directory.Parent;
        return directory?.FullName ?? throw new InvalidOperationException("test project folder not found");
    }
}
