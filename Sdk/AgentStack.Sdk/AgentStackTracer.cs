using System.Diagnostics;

namespace AgentStack.Sdk;

/// <summary>
/// Manual spans on AgentStack's <see cref="ActivitySource"/>. When nothing listens (no
/// <see cref="AgentStackClient"/> and no OpenTelemetry tracer subscribed to <see cref="SourceName"/>),
/// <see cref="StartSpan(string, string)"/> returns an empty <see cref="AgentStackSpan"/> without allocating,
/// and every call on it is a no-op (issue 6: zero extra allocations on the hot path).
/// </summary>
public static class AgentStackTracer
{
    /// <summary>The name of the SDK's own activity source.</summary>
    public const string SourceName = "AgentStack";

    /// <summary>
    /// The prefix of every AgentStack activity source: the framework integrations use
    /// <c>AgentStack.Extensions.AI</c>, <c>AgentStack.SemanticKernel</c> and <c>AgentStack.Agents</c>.
    /// OpenTelemetry users subscribe with <c>AddSource("AgentStack*")</c>.
    /// </summary>
    public const string SourceNamePrefix = "AgentStack.";

    /// <summary>The SDK's activity source.</summary>
    public static ActivitySource Source { get; } = new(SourceName, typeof(AgentStackTracer).Assembly.GetName().Version?.ToString());

    /// <summary>Whether <paramref name="sourceName"/> is one of AgentStack's activity sources.</summary>
    /// <param name="sourceName">An <see cref="ActivitySource.Name"/>.</param>
    /// <returns><see langword="true"/> for <c>AgentStack</c> and <c>AgentStack.*</c>.</returns>
    public static bool IsAgentStackSource(string sourceName) =>
        sourceName == SourceName || sourceName.StartsWith(SourceNamePrefix, StringComparison.Ordinal);

    /// <summary>Starts a span of <paramref name="kind"/> as a child of <see cref="Activity.Current"/>.</summary>
    /// <param name="kind">One of <see cref="AgentStackSpanKind"/>.</param>
    /// <param name="name">The span's name as shown in the dashboard.</param>
    /// <returns>The span; dispose it to end it. Empty (and free) when nothing listens.</returns>
    public static AgentStackSpan StartSpan(string kind, string name) => StartSpan(Source, kind, name);

    /// <summary>
    /// Starts a span of <paramref name="kind"/> on another AgentStack source (the framework integrations use this).
    /// </summary>
    /// <param name="source">An activity source whose name starts with <see cref="SourceNamePrefix"/>.</param>
    /// <param name="kind">One of <see cref="AgentStackSpanKind"/>.</param>
    /// <param name="name">The span's name as shown in the dashboard.</param>
    /// <returns>The span; dispose it to end it. Empty (and free) when nothing listens.</returns>
    public static AgentStackSpan StartSpan(ActivitySource source, string kind, string name)
    {
        ArgumentNullException.ThrowIfNull(source);
        // Created, named, then started: the start record (issue 16) is taken at start and must carry the name.
        var activity = source.CreateActivity(kind, ActivityKind.Internal);
        if (activity is null)
            return default;
        activity.DisplayName = name;
        return new AgentStackSpan(activity.Start());
    }

    /// <summary>
    /// Starts a span of <paramref name="kind"/> with an explicit start time, e.g. when importing history.
    /// </summary>
    /// <param name="kind">One of <see cref="AgentStackSpanKind"/>.</param>
    /// <param name="name">The span's name as shown in the dashboard.</param>
    /// <param name="startTime">When the span started.</param>
    /// <returns>The span; dispose it to end it. Empty when nothing listens.</returns>
    public static AgentStackSpan StartSpan(string kind, string name, DateTimeOffset startTime)
    {
        var activity = Source.CreateActivity(kind, ActivityKind.Internal);
        if (activity is null)
            return default;
        activity.DisplayName = name;
        activity.SetStartTime(startTime.UtcDateTime);
        return new AgentStackSpan(activity.Start());
    }
}
