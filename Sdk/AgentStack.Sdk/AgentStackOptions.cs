namespace AgentStack.Sdk;

/// <summary>What to do with a new span when the export queue is full.</summary>
public enum QueueFullMode
{
    /// <summary>Drop the oldest queued span to make room (keeps the most recent history).</summary>
    DropOldest,

    /// <summary>Drop the new span.</summary>
    DropNewest,
}

/// <summary>The price of a model per million tokens, used to estimate <see cref="SpanData.CostUsd"/>.</summary>
/// <param name="InputPerMillionTokens">US dollars per million prompt tokens.</param>
/// <param name="OutputPerMillionTokens">US dollars per million completion tokens.</param>
public sealed record ModelPrice(decimal InputPerMillionTokens, decimal OutputPerMillionTokens);

/// <summary>Settings of <see cref="AgentStackClient"/>.</summary>
public sealed class AgentStackOptions
{
    /// <summary>
    /// The AgentStack server, e.g. <c>http://localhost:5000</c>. Defaults to the <c>AGENTSTACK_ENDPOINT</c>
    /// environment variable, then <c>http://localhost:5000</c>.
    /// </summary>
    public Uri Endpoint { get; set; } = new(Environment.GetEnvironmentVariable("AGENTSTACK_ENDPOINT") is { Length: > 0 } e ? e : "http://localhost:5000");

    /// <summary>An API key with the <c>ingest</c> scope. Defaults to the <c>AGENTSTACK_API_KEY</c> environment variable.</summary>
    public string? ApiKey { get; set; } = Environment.GetEnvironmentVariable("AGENTSTACK_API_KEY");

    /// <summary>How many finished spans may wait for export; beyond that spans are dropped and counted.</summary>
    public int MaxQueueSize { get; set; } = 10_000;

    /// <summary>Which span is dropped when the queue is full.</summary>
    public QueueFullMode QueueFullMode { get; set; } = QueueFullMode.DropOldest;

    /// <summary>The most spans sent in one request (the server accepts up to 1000).</summary>
    public int MaxBatchSize { get; set; } = 256;

    /// <summary>
    /// The most bytes of span JSON sent in one request (before gzip); a batch over it goes as several requests. The
    /// server's default limit is 16 MiB (<c>AgentStack:Ingest:MaxBodyBytes</c>); a 413 splits the batch in two anyway.
    /// </summary>
    public int MaxBatchBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>How long the exporter waits for a batch to fill before sending what it has.</summary>
    public TimeSpan ExportInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The timeout of one export request.</summary>
    public TimeSpan ExportTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Compress request bodies with gzip (<c>Content-Encoding: gzip</c>), which the collector decompresses
    /// (docs/ingestion.md). Off by default: it trades CPU on both sides for bandwidth.
    /// </summary>
    public bool UseGzip { get; set; }

    /// <summary>How many times one batch is attempted on transient failures (5xx, 408, network) before it is counted as failed; a 429 waits its Retry-After and uses no attempt.</summary>
    public int MaxAttempts { get; set; } = 10;

    /// <summary>The first retry delay; it doubles per attempt, with full jitter.</summary>
    public TimeSpan InitialRetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The longest delay between attempts (also caps <c>Retry-After</c>).</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long disposal waits for queued spans to be sent.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Capture inputs and outputs (prompts, messages, tool arguments and results). On by default.</summary>
    public bool CapturePayloads { get; set; } = true;

    /// <summary>Payloads larger than this (UTF-8 JSON bytes) are replaced by a truncation notice; the server refuses over 1 MiB.</summary>
    public int MaxPayloadBytes { get; set; } = 256 * 1024;

    /// <summary>
    /// The redaction hook: called on the exporter's thread for every span before it leaves the process.
    /// Change what must not leave (e-mail addresses, secrets) and return the span, or return
    /// <see langword="null"/> to drop it. An exception drops the span (counted as filtered), never the exporter.
    /// A span whose kind is in <see cref="StartEventKinds"/> passes twice, its start record first (no output, status
    /// or usage yet): dropping only its completion leaves the span open on the server for good, so decide on what both
    /// records hold (name, kind, attributes, input).
    /// </summary>
    public Func<SpanData, SpanData?>? Redact { get; set; }

    /// <summary>Prices used to estimate cost for llm and embedding spans that report usage but no cost.</summary>
    public IDictionary<string, ModelPrice> ModelPrices { get; } = new Dictionary<string, ModelPrice>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Other activity sources to export besides AgentStack's own (<c>AgentStack</c>, <c>AgentStack.*</c>), e.g.
    /// <c>Experimental.Microsoft.Extensions.AI</c> when a pipeline already uses <c>UseOpenTelemetry()</c>.
    /// </summary>
    public ISet<string> AdditionalSources { get; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>
    /// The span kinds whose start is sent as soon as the span starts (a started span: <c>POST /v1/spans</c> without
    /// <c>endTime</c>; its completion follows when it ends). The trace's event stream then follows the order things
    /// happened, the Time Machine replays a run forwards (root agent first) and a run in progress shows live (issue 16).
    /// Default: agent, chain and tool. Clear it to send every span only when it ends.
    /// </summary>
    public ISet<string> StartEventKinds { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        AgentStackSpanKind.Agent, AgentStackSpanKind.Chain, AgentStackSpanKind.Tool,
    };

    /// <summary>Optional handler for the exporter's HTTP client (proxies, custom certificates).</summary>
    public HttpMessageHandler? HttpMessageHandler { get; set; }
}
