using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace AgentStack.Commands.Spans.Ingesting;

/// <summary>
/// Ingestion limits, configuration section <c>AgentStack:Ingest</c>; one project's own limits under
/// <c>AgentStack:Projects:{project}:Ingest</c> override them (issue 17, item 2; docs/ingestion.md, "Limits"): the
/// options named after the project (<c>IOptionsMonitor.Get(project)</c>, <see cref="SpanIngestion.LimitsFor"/>).
/// Every limit is reported by name and value in the 400/413 answer when exceeded.
/// </summary>
public sealed class IngestOptions
{
    public const string Section = "AgentStack:Ingest";

    /// <summary>Where one project's overrides live.</summary>
    public static string ProjectSection(string project) => $"AgentStack:Projects:{project}:Ingest";

    public long MaxBodyBytes { get; set; } = 16 * 1024 * 1024;
    public int MaxSpansPerBatch { get; set; } = 1000;
    public int MaxPayloadBytes { get; set; } = 1024 * 1024;
    public int MaxAttributes { get; set; } = 256;
    public int MaxAttributeKeyLength { get; set; } = 256;

    /// <summary>Characters of one string attribute value (the raw JSON bytes of any other value).</summary>
    public int MaxAttributeValueLength { get; set; } = 64 * 1024;
    public int MaxIdLength { get; set; } = 128;
    public int MaxNameLength { get; set; } = 1024;
    public int MaxShortStringLength { get; set; } = 256;
    public int MaxStatusMessageLength { get; set; } = 32 * 1024;

    /// <summary>How deeply input, output and attributes may nest (objects and arrays).</summary>
    public int MaxDepth { get; set; } = 32;

    /// <summary>How far in the future a timestamp may be, for clock skew.</summary>
    public TimeSpan MaxFutureSkew { get; set; } = TimeSpan.FromDays(1);

    /// <summary>The earliest timestamp accepted; older ones are almost always a unit mistake.</summary>
    public DateTimeOffset EarliestTimestamp { get; set; } = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How many trace streams' decided state the RecordSpans handler keeps, so a batch need not re-read its trace.</summary>
    public int TraceStateCacheSize { get; set; } = 20_000;
}

/// <summary>
/// The options named after a project (<c>IOptionsMonitor&lt;IngestOptions&gt;.Get(project)</c>): the deployment's
/// section, then the project's own on top, so an unset key keeps the deployment's value.
/// </summary>
internal sealed class ProjectIngestLimits(IConfiguration configuration) : IConfigureNamedOptions<IngestOptions>
{
    public void Configure(string? name, IngestOptions options)
    {
        if (string.IsNullOrEmpty(name))
            return; // the deployment's own options, bound by AddOptions().Bind(...)
        configuration.GetSection(IngestOptions.Section).Bind(options);
        configuration.GetSection(IngestOptions.ProjectSection(name)).Bind(options);
    }

    public void Configure(IngestOptions options) => Configure(Options.DefaultName, options);
}
