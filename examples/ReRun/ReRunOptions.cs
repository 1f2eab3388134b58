using System.Globalization;

using AgentStack.Examples.ResearchAgent;

namespace AgentStack.Examples.ReRun;

/// <summary>The re-run's command line.</summary>
public sealed record ReRunOptions
{
    public const string Usage =
        "usage: ReRun --trace ID [--replay-steps N] [--price USD] [--endpoint URL] [--api-key KEY] [--project NAME] [--local]\n" +
        "  --trace ID          the recorded research-agent trace to re-run\n" +
        "  --replay-steps N    model and tool calls answered as recorded (default 1); live from step N+1\n" +
        "  --price USD         change the pricing tool: it answers this price (default: the demo's tool)\n" +
        "  --endpoint URL      AgentStack server (default http://localhost:5000)\n" +
        "  --api-key KEY       a key with the ingest and read scopes (default: AGENTSTACK_API_KEY)\n" +
        "  --project NAME      the recorded trace's project (default: default)\n" +
        "  --local             use the offline model even when OPENAI_API_KEY is set";

    public string TraceId { get; init; } = "";
    public int ReplaySteps { get; init; } = 1;
    public decimal? Price { get; init; }
    public Uri Endpoint { get; init; } = new("http://localhost:5000");
    public string? ApiKey { get; init; } = Environment.GetEnvironmentVariable("AGENTSTACK_API_KEY");
    public string Project { get; init; } = "default";
    public bool ForceLocalModel { get; init; }

    private static readonly CommandLineOption<ReRunOptions>[] Options =
    [
        new("--trace", (o, v) => v.Length == 32 ? o with { TraceId = v } : null),
        new("--replay-steps", (o, v) => CommandLine.Count(v, atLeast: 0) is { } steps ? o with { ReplaySteps = steps } : null),
        new("--price", (o, v) => decimal.TryParse(v, NumberStyles.Number, CultureInfo.InvariantCulture, out var price) ? o with { Price = price } : null),
        new("--endpoint", (o, v) => CommandLine.AbsoluteUri(v) is { } endpoint ? o with { Endpoint = endpoint } : null),
        new("--api-key", (o, v) => CommandLine.NonEmpty(v) is { } key ? o with { ApiKey = key } : null),
        new("--project", (o, v) => CommandLine.NonEmpty(v) is { } project ? o with { Project = project } : null),
        new("--local", Flag: o => o with { ForceLocalModel = true }),
    ];

    public static bool TryParse(string[] args, out ReRunOptions options, out string? error)
    {
        if (!CommandLine.TryParse(args, new ReRunOptions(), Options, out options, out error))
            return false;
        if (options.TraceId.Length == 0)
            error = "--trace is required (a 32-digit trace id)";
        return error is null;
    }
}
