using System.Diagnostics;
using System.Globalization;

namespace AgentStack.Sdk;

/// <summary>
/// A span started by <see cref="AgentStackTracer"/>: a thin wrapper over an <see cref="System.Diagnostics.Activity"/>
/// (or over nothing when no listener sampled it, in which case every method returns at once).
/// Setters return the span so calls can be chained.
/// </summary>
public readonly struct AgentStackSpan : IDisposable, IEquatable<AgentStackSpan>
{
    /// <summary>Wraps an activity started elsewhere (an integration's own source), so the setters below apply to it.</summary>
    /// <param name="activity">The activity, or <see langword="null"/> for an empty span.</param>
    public AgentStackSpan(Activity? activity) => Activity = activity;

    /// <summary>The underlying activity, or <see langword="null"/> when nothing listens.</summary>
    public Activity? Activity { get; }

    /// <summary>Whether the span is being recorded (payloads are only captured then).</summary>
    public bool IsRecording => Activity is { IsAllDataRequested: true };

    /// <summary>
    /// Captures the span's input as JSON. The value is serialized now, so later changes to it are not seen.
    /// </summary>
    /// <typeparam name="T">The type of the input.</typeparam>
    /// <param name="input">Any JSON-serializable value; a <see cref="string"/> is kept as a JSON string.</param>
    /// <returns>This span.</returns>
    public AgentStackSpan SetInput<T>(T input)
    {
        if (Activity is { IsAllDataRequested: true } activity)
            activity.SetCustomProperty(AgentStackTags.Input, Payload.Capture(input));
        return this;
    }

    /// <summary>Captures the span's output as JSON (serialized now).</summary>
    /// <typeparam name="T">The type of the output.</typeparam>
    /// <param name="output">Any JSON-serializable value; a <see cref="string"/> is kept as a JSON string.</param>
    /// <returns>This span.</returns>
    public AgentStackSpan SetOutput<T>(T output)
    {
        if (Activity is { IsAllDataRequested: true } activity)
            activity.SetCustomProperty(AgentStackTags.Output, Payload.Capture(output));
        return this;
    }

    /// <summary>Records the model and its provider (OpenTelemetry GenAI tags, so OTel exporters see them too).</summary>
    /// <param name="model">The model name, e.g. <c>gpt-4o-mini</c>.</param>
    /// <param name="provider">The provider, e.g. <c>openai</c>.</param>
    /// <returns>This span.</returns>
    public AgentStackSpan SetModel(string? model, string? provider = null)
    {
        if (Activity is { IsAllDataRequested: true } activity)
        {
            if (model is not null)
                activity.SetTag(AgentStackTags.ResponseModel, model);
            if (provider is not null)
                activity.SetTag(AgentStackTags.Provider, provider);
        }
        return this;
    }

    /// <summary>Records token usage.</summary>
    /// <param name="inputTokens">Prompt tokens.</param>
    /// <param name="outputTokens">Completion tokens.</param>
    /// <returns>This span.</returns>
    public AgentStackSpan SetUsage(long? inputTokens, long? outputTokens)
    {
        if (Activity is { IsAllDataRequested: true } activity)
        {
            if (inputTokens is { } i)
                activity.SetTag(AgentStackTags.InputTokens, i);
            if (outputTokens is { } o)
                activity.SetTag(AgentStackTags.OutputTokens, o);
        }
        return this;
    }

    /// <summary>Records the cost in US dollars (otherwise it is estimated from <see cref="AgentStackOptions.ModelPrices"/>).</summary>
    /// <param name="costUsd">The cost.</param>
    /// <returns>This span.</returns>
    public AgentStackSpan SetCost(decimal costUsd)
    {
        if (Activity is { IsAllDataRequested: true } activity)
            activity.SetTag(AgentStackTags.CostUsd, costUsd.ToString(CultureInfo.InvariantCulture));
        return this;
    }

    /// <summary>Adds an attribute (exported under <c>attributes</c>).</summary>
    /// <param name="key">The attribute's name.</param>
    /// <param name="value">A string, number, boolean or array of them.</param>
    /// <returns>This span.</returns>
    public AgentStackSpan SetAttribute(string key, object? value)
    {
        if (Activity is { IsAllDataRequested: true } activity)
            activity.SetTag(key, value);
        return this;
    }

    /// <summary>Records the session (conversation) this run belongs to, as <c>session.id</c>.</summary>
    /// <param name="sessionId">The session id, e.g. a chat id.</param>
    /// <returns>This span.</returns>
    public AgentStackSpan SetSession(string? sessionId) => sessionId is null ? this : SetAttribute(AgentStackTags.SessionId, sessionId);

    /// <summary>Records the end user this run serves, as <c>user.id</c>.</summary>
    /// <param name="userId">The user id (an opaque id rather than an e-mail address).</param>
    /// <returns>This span.</returns>
    public AgentStackSpan SetUser(string? userId) => userId is null ? this : SetAttribute(AgentStackTags.UserId, userId);

    /// <summary>Marks the span as failed with the exception's type and message.</summary>
    /// <param name="exception">What went wrong.</param>
    /// <returns>This span.</returns>
    public AgentStackSpan SetError(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (Activity is { } activity)
        {
            activity.SetStatus(ActivityStatusCode.Error, exception.Message);
            if (activity.IsAllDataRequested)
                activity.SetTag(AgentStackTags.ErrorType, exception.GetType().FullName);
        }
        return this;
    }

    /// <summary>Marks the span as failed.</summary>
    /// <param name="message">What went wrong.</param>
    /// <returns>This span.</returns>
    public AgentStackSpan SetError(string message)
    {
        Activity?.SetStatus(ActivityStatusCode.Error, message);
        return this;
    }

    /// <summary>Ends the span now.</summary>
    public void Dispose() => Activity?.Dispose();

    /// <inheritdoc />
    public bool Equals(AgentStackSpan other) => ReferenceEquals(Activity, other.Activity);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is AgentStackSpan other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => Activity?.GetHashCode() ?? 0;

    /// <summary>Whether two spans wrap the same activity.</summary>
    /// <param name="left">A span.</param>
    /// <param name="right">Another span.</param>
    /// <returns><see langword="true"/> when both wrap the same activity.</returns>
    public static bool operator ==(AgentStackSpan left, AgentStackSpan right) => left.Equals(right);

    /// <summary>Whether two spans wrap different activities.</summary>
    /// <param name="left">A span.</param>
    /// <param name="right">Another span.</param>
    /// <returns><see langword="true"/> when they wrap different activities.</returns>
    public static bool operator !=(AgentStackSpan left, AgentStackSpan right) => !left.Equals(right);
}
