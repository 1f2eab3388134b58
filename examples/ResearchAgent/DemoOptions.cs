using Microsoft.Extensions.AI;

namespace AgentStack.Examples.ResearchAgent;

/// <summary>The demo's command line.</summary>
public sealed record DemoOptions
{
    public const string Usage =
        "usage: ResearchAgent [--runs N] [--backfill-days K] [--endpoint URL] [--api-key KEY]\n" +
        "  --runs N            agent runs to make (default 1)\n" +
        "  --backfill-days K   spread the runs' start times over the last K days (default 0: now)\n" +
        "  --endpoint URL      AgentStack server (default http://localhost:5000)\n" +
        "  --api-key KEY       ingest key (default: AGENTSTACK_API_KEY)\n" +
        "  OPENAI_API_KEY (+ OPENAI_BASE_URL, OPENAI_MODEL) switch from the offline local model to a real one.";

    public int Runs { get; init; } = 1;
    public int BackfillDays { get; init; }
    public Uri Endpoint { get; init; } = new("http://localhost:5000");
    public string? ApiKey { get; init; } = Environment.GetEnvironmentVariable("AGENTSTACK_API_KEY");

    /// <summary>Use the deterministic local model even when OPENAI_API_KEY is set (tests).</summary>
    public bool ForceLocalModel { get; init; }

    /// <summary>The index of the first run (run i asks question i mod 5); a re-run repeats the original's index.</summary>
    public int FirstRunIndex { get; init; }

    /// <summary>
    /// Builds the chat pipeline around the model (default: function invocation, then AgentStack's recording). The
    /// re-run example (examples/ReRun) puts its replay here.
    /// </summary>
    public Func<IChatClient, IChatClient>? ChatPipeline { get; init; }

    /// <summary>Replaces the pricing service behind the get_pricing tool (a changed tool, or one a test holds open).</summary>
    public Func<string, CancellationToken, Task<string>>? PricingTool { get; init; }

    /// <summary>Called with each run's root span as it starts (the re-run marks it with the original trace).</summary>
    public Action<AgentStack.Sdk.AgentStackSpan>? OnRunStarted { get; init; }

    /// <summary>How long the end-of-run flush may take.</summary>
    public TimeSpan FlushTimeout { get; init; } = TimeSpan.FromSeconds(30);

    private static readonly CommandLineOption<DemoOptions>[] Options =
    [
        new("--runs", (o, v) => CommandLine.Count(v, atLeast: 1) is { } runs ? o with { Runs = runs } : null),
        new("--backfill-days", (o, v) => CommandLine.Count(v, atLeast: 0) is { } days ? o with { BackfillDays = days } : null),
        new("--endpoint", (o, v) => CommandLine.AbsoluteUri(v) is { } endpoint ? o with { Endpoint = endpoint } : null),
        new("--api-key", (o, v) => CommandLine.NonEmpty(v) is { } key ? o with { ApiKey = key } : null),
        new("--local", Flag: o => o with { ForceLocalModel = true }),
    ];

    public static bool TryParse(string[] args, out DemoOptions options, out string? error) =>
        CommandLine.TryParse(args, new DemoOptions(), Options, out options, out error);
}
