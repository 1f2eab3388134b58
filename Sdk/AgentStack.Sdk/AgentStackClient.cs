using System.Diagnostics;
using AgentStack.Sdk.Exporting;

namespace AgentStack.Sdk;

/// <summary>
/// Listens to AgentStack's activity sources and exports every finished span to an AgentStack server.
/// One per process is the rule: create it at start-up (or let <c>services.AddAgentStack()</c> do it) and
/// dispose it at shutdown, which flushes what is queued. It coexists with OpenTelemetry .NET: both can
/// listen to the same sources.
/// </summary>
/// <example>
/// <code>
/// await using var agentStack = AgentStackClient.Start(o => o.Endpoint = new Uri("http://localhost:5000"));
/// using (var span = AgentStackTracer.StartSpan(AgentStackSpanKind.Agent, "research-agent"))
///     span.SetInput(question).SetOutput(answer);
/// </code>
/// </example>
public sealed class AgentStackClient : IAsyncDisposable, IDisposable
{
    private readonly ActivityListener listener;
    private readonly NativeExporter exporter;
    private readonly HashSet<string> additionalSources;
    private int disposed;

    /// <summary>Starts listening and exporting with <paramref name="options"/>.</summary>
    /// <param name="options">The settings; not read again after construction.</param>
    public AgentStackClient(AgentStackOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        additionalSources = new HashSet<string>(options.AdditionalSources, StringComparer.Ordinal);
        exporter = new NativeExporter(options, IsExported);
        listener = new ActivityListener
        {
            ShouldListenTo = IsExported,
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStarted = exporter.SendsStarts ? exporter.EnqueueStart : null,
            ActivityStopped = exporter.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
    }

    /// <summary>Creates options, lets <paramref name="configure"/> change them, and starts a client.</summary>
    /// <param name="configure">Changes to the default options (which read <c>AGENTSTACK_ENDPOINT</c> and <c>AGENTSTACK_API_KEY</c>).</param>
    /// <returns>The started client.</returns>
    public static AgentStackClient Start(Action<AgentStackOptions>? configure = null)
    {
        var options = new AgentStackOptions();
        configure?.Invoke(options);
        return new AgentStackClient(options);
    }

    /// <summary>The settings the client was started with.</summary>
    public AgentStackOptions Options { get; }

    /// <summary>The exporter, for this assembly's tests.</summary>
    internal NativeExporter Exporter => exporter;

    /// <summary>The exporter's counters now (enqueued, exported, dropped, failed, filtered, queued).</summary>
    public ExportStatistics Statistics => exporter.Statistics;

    /// <summary>The name of the meter on which the counters are published.</summary>
    public static string MeterName => NativeExporter.MeterName;

    /// <summary>
    /// Waits until every span that ended before the call has been exported, dropped or given up on.
    /// With the server down this waits through the retries: pass a token with a timeout.
    /// </summary>
    /// <param name="cancellationToken">Stops the wait (not the export).</param>
    /// <returns>A task that completes when the spans are settled.</returns>
    public Task FlushAsync(CancellationToken cancellationToken = default) => exporter.FlushAsync(cancellationToken);

    private bool IsExported(ActivitySource source) =>
        AgentStackTracer.IsAgentStackSource(source.Name) || additionalSources.Contains(source.Name);

    /// <summary>Stops listening, then flushes for at most <see cref="AgentStackOptions.ShutdownTimeout"/>.</summary>
    /// <returns>A task that completes when the exporter has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
            return;
        listener.Dispose();
        await exporter.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Disposes synchronously (blocks for at most <see cref="AgentStackOptions.ShutdownTimeout"/>); prefer <see cref="DisposeAsync"/>.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
