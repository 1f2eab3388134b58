using System.Globalization;

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

    public static bool TryParse(string[] args, out ReRunOptions options, out string? error)
    {
        options = new ReRunOptions();
        error = null;
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--trace" when value is { Length: 32 }:
                    options = options with { TraceId = value };
                    i++;
                    break;
                case "--replay-steps" when int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var steps) && steps >= 0:
                    options = options with { ReplaySteps = steps };
                    i++;
                    break;
                case "--price" when decimal.TryParse(value, NumberStyles.Number, CultureInfo.InvariantCulture, out var price):
                    options = options with { Price = price };
                    i++;
                    break;
                case "--endpoint" when Uri.TryCreate(value, UriKind.Absolute, out var endpoint):
                    options = options with { Endpoint = endpoint };
                    i++;
                    break;
                case "--api-key" when !string.IsNullOrEmpty(value):
                    options = options with { ApiKey = value };
                    i++;
                    break;
                case "--project" when !string.IsNullOrEmpty(value):
                    options = options with { Project = value };
                    i++;
                    break;
                case "--local":
                    options = options with { ForceLocalModel = true };
                    break;
                default:
                    error = $"unknown or invalid argument '{args[i]}'" + (value is null ? "" : $" (value '{value}')");
                    return false;
            }
        }
        if (options.TraceId.Length == 0)
            error = "--trace is required (a 32-digit trace id)";
        return error is null;
    }
}
