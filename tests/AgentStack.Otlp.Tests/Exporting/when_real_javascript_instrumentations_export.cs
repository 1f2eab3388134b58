using System.Diagnostics;
using System.Text.Json.Nodes;
using AgentStack.Testing;

namespace AgentStack.Otlp.Tests.Exporting;

/// <summary>
/// Real JavaScript instrumentations (issue 16), run by <c>tests/otlp-clients/run.cjs</c> in Node against a
/// deterministic OpenAI-compatible model server, export to AgentStack.Server over each OTLP transport: the Vercel AI SDK
/// (<c>ai</c> with <c>@ai-sdk/openai</c>, <c>experimental_telemetry</c>), the <c>openai</c> package under OpenLLMetry's
/// <c>@traceloop/instrumentation-openai</c> and under OpenInference's <c>@arizeai/openinference-instrumentation-openai</c>.
/// Each run is a tool call, the answer from the tool's result (streamed with the usage in the final chunk where the
/// client asks for it) and an embedding; what the read API serves is asserted span by span.
/// The model answers: the tool call costs 40 + 8 tokens, the answer 50 + 10, the embedding 5.
/// </summary>
public sealed class when_real_javascript_instrumentations_export(OtlpServer otlp) : IClassFixture<OtlpServer>
{
    public static TheoryData<string, string> Runs()
    {
        var runs = new TheoryData<string, string>();
        foreach (var family in (string[])["vercel-ai", "openllmetry", "openinference"])
            foreach (var transport in (string[])["proto", "json", "grpc"])
                runs.Add(family, transport);
        return runs;
    }

    [Theory]
    [MemberData(nameof(Runs))]
    public async Task then_kind_model_tokens_input_output_and_tools_arrive_mapped(string family, string transport)
    {
        var traceId = await RunAsync(family, transport);
        var spans = (await otlp.SpansOfAsync(traceId)).Select(s => s!.AsObject()).ToList();
        var all = new JsonArray(spans.Select(s => (JsonNode)s.DeepClone()).ToArray()).ToJsonString();
        spans.ShouldContain(s => Str(s, "name") == $"{family} weather agent", all);
        switch (family)
        {
            case "vercel-ai":
                VercelAi(spans, all);
                break;
            case "openllmetry":
                OpenAiChats(spans.Where(s => Str(s, "name") == "chat gpt-4o-mini").ToList(), "openai", all);
                break;
            default:
                OpenAiChats(spans.Where(s => Str(s, "name") == "OpenAI Chat Completions").ToList(), "openai", all);
                var embedding = spans.Single(s => Str(s, "name") == "OpenAI Embeddings");
                (Str(embedding, "kind"), Str(embedding, "model")).ShouldBe(("embedding", "text-embedding-3-small"), all);
                embedding["input"]!.ToJsonString().ShouldContain("rainy in Paris");
                break;
        }
    }

    /// <summary>The tool-calling turn, then the answer from the tool's result: the same for both openai instrumentations.</summary>
    private static void OpenAiChats(List<JsonObject> chats, string provider, string all)
    {
        chats.Count.ShouldBe(2, all);
        foreach (var chat in chats)
        {
            (Str(chat, "kind"), Str(chat, "provider")).ShouldBe(("llm", provider), all);
            Str(chat, "model")!.ShouldStartWith("gpt-4o-mini", customMessage: all);
            chat["input"]!.ToJsonString().ShouldContain("Weather in Paris?");
        }
        var toolTurn = chats.Single(c => ToolCallNames(c["output"]).Any());
        ToolCallNames(toolTurn["output"]).ShouldBe(["get_weather"]);
        (Str(toolTurn, "model"), Long(toolTurn, "inputTokens"), Long(toolTurn, "outputTokens")).ShouldBe(("gpt-4o-mini-2024-07-18", 40L, 8L), all);
        toolTurn["costUsd"]!.GetValue<decimal>().ShouldBe(40 * 0.00000015m + 8 * 0.0000006m);
        var answer = chats.Single(c => c != toolTurn);
        // The tool's answer is part of the conversation the model was given.
        ToolResults(answer["input"]).ShouldContain("rainy in Paris");
        answer["output"]!.ToJsonString().ShouldContain("It is rainy in Paris.");
    }

    private static void VercelAi(List<JsonObject> spans, string all)
    {
        var generate = Named(spans, "ai.generateText", all);
        // The SDK call around its model and tool calls: a chain; the model calls carry the model and the tokens.
        (Str(generate, "kind"), Str(generate, "model"), Long(generate, "inputTokens")).ShouldBe(("chain", null, null), all);
        generate["input"]!.ToJsonString().ShouldContain("You answer weather questions.");
        generate["input"]!.ToJsonString().ShouldContain("Weather in Paris?");
        generate["output"]!.ToJsonString().ShouldContain("It is rainy in Paris.");

        var calls = spans.Where(s => Str(s, "name") == "ai.generateText.doGenerate").ToList();
        calls.Count.ShouldBe(2, all);
        foreach (var call in calls)
            (Str(call, "kind"), Str(call, "model"), Str(call, "provider")).ShouldBe(("llm", "gpt-4o-mini-2024-07-18", "openai.chat"), all);
        var toolTurn = calls.Single(c => ToolCallNames(c["output"]).Any());
        ToolCallNames(toolTurn["output"]).ShouldBe(["get_weather"]);
        (Long(toolTurn, "inputTokens"), Long(toolTurn, "outputTokens")).ShouldBe((40L, 8L), all);
        toolTurn["input"]!.ToJsonString().ShouldContain("Weather in Paris?");
        var answer = calls.Single(c => c != toolTurn);
        (Long(answer, "inputTokens"), Long(answer, "outputTokens")).ShouldBe((50L, 10L), all);
        ToolResults(answer["input"]).ShouldContain("rainy in Paris");
        answer["output"]!.ToJsonString().ShouldContain("It is rainy in Paris.");

        var tool = Named(spans, "ai.toolCall", all);
        Str(tool, "kind").ShouldBe("tool", all);
        tool["attributes"]!["ai.toolCall.name"]!.GetValue<string>().ShouldBe("get_weather");
        tool["input"]!["city"]!.GetValue<string>().ShouldBe("Paris", all);
        tool["output"]!.GetValue<string>().ShouldBe("rainy in Paris", all);

        // Streaming: the usage comes from the stream's final chunk.
        var stream = Named(spans, "ai.streamText.doStream", all);
        (Str(stream, "kind"), Str(stream, "model"), Long(stream, "inputTokens"), Long(stream, "outputTokens"))
            .ShouldBe(("llm", "gpt-4o-mini-2024-07-18", 50L, 10L), all);
        stream["input"]!.ToJsonString().ShouldContain("And in one sentence?");
        stream["output"]!.ToJsonString().ShouldContain("It is rainy in Paris.");
        Str(Named(spans, "ai.streamText", all), "kind").ShouldBe("chain");

        var embed = Named(spans, "ai.embed.doEmbed", all);
        (Str(embed, "kind"), Str(embed, "model"), Long(embed, "inputTokens")).ShouldBe(("embedding", "text-embedding-3-small", 5L), all);
        embed["input"]!.ToJsonString().ShouldContain("rainy in Paris");
        Str(Named(spans, "ai.embed", all), "kind").ShouldBe("chain");
    }

    private async Task<string> RunAsync(string family, string transport)
    {
        var clients = ClientsDirectory();
        var start = new ProcessStartInfo("node", ["run.cjs", family, transport])
        {
            WorkingDirectory = clients,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["AGENTSTACK_OTLP_HTTP"] = otlp.Server.BaseAddress.ToString().TrimEnd('/');
        start.Environment["AGENTSTACK_OTLP_GRPC"] = otlp.GrpcEndpoint.ToString().TrimEnd('/');
        start.Environment["OTEL_EXPORTER_OTLP_HEADERS"] = $"x-api-key={ServerProcess.BootstrapKey}";
        using var node = Process.Start(start)!;
        var stdout = node.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = node.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(2));
        try
        {
            await node.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            node.Kill(entireProcessTree: true);
            throw;
        }
        node.ExitCode.ShouldBe(0, $"node run.cjs {family} {transport}:\n{await stderr}\n{await stdout}");
        return JsonNode.Parse(await stdout)!["traceId"]!.GetValue<string>();
    }

    /// <summary>tests/otlp-clients, with its npm packages installed (scripts/setup-otlp-clients.sh).</summary>
    private static string ClientsDirectory()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "tests", "otlp-clients", "run.cjs")))
            directory = directory.Parent;
        var clients = Path.Combine(directory?.FullName ?? throw new InvalidOperationException("tests/otlp-clients not found"), "tests", "otlp-clients");
        Directory.Exists(Path.Combine(clients, "node_modules", "ai")).ShouldBeTrue($"{clients} has no node_modules: run scripts/setup-otlp-clients.sh");
        return clients;
    }

    private static JsonObject Named(List<JsonObject> spans, string name, string all)
    {
        var matching = spans.Where(s => Str(s, "name") == name).ToList();
        matching.Count.ShouldBe(1, $"one span named {name}: {all}");
        return matching[0];
    }

    private static string? Str(JsonObject span, string field) => span[field]?.GetValue<string>();

    private static long? Long(JsonObject span, string field) => span[field]?.GetValue<long>();

    /// <summary>The names of the tool_call parts of a message list (the conventions' message schema).</summary>
    private static List<string> ToolCallNames(JsonNode? messages) => Parts(messages, "tool_call").Select(p => p["name"]!.GetValue<string>()).ToList();

    /// <summary>The results of the tool_call_response parts of a message list, as JSON text.</summary>
    private static string ToolResults(JsonNode? messages) => string.Join("\n", Parts(messages, "tool_call_response").Select(p => p["response"]!.ToJsonString()));

    private static IEnumerable<JsonNode> Parts(JsonNode? messages, string type) =>
        messages is JsonArray list
            ? list.SelectMany(m => m?["parts"] as JsonArray ?? []).Where(p => p?["type"]?.GetValue<string>() == type).Select(p => p!)
            : [];
}
