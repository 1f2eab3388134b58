namespace AgentStack.Sdk.Exporting;

/// <summary>A snapshot of the exporter's counters (also published as metrics on the <c>AgentStack.Sdk</c> meter).</summary>
/// <param name="Enqueued">Spans handed to the exporter.</param>
/// <param name="Exported">Spans the server acknowledged.</param>
/// <param name="Dropped">Spans dropped because the queue was full.</param>
/// <param name="Failed">Spans given up on: refused by the server (4xx), or still failing after every attempt.</param>
/// <param name="Filtered">Spans the redaction hook dropped (or threw on).</param>
/// <param name="Queued">Spans waiting in the queue now.</param>
/// <param name="LastError">The last export error, if any.</param>
public sealed record ExportStatistics(
    long Enqueued, long Exported, long Dropped, long Failed, long Filtered, int Queued, string? LastError);
